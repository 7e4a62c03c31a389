"""Entity labels in doubt: planted tag errors (missing entity, wrong type, wrong boundary) are found."""

from __future__ import annotations

import csv
import itertools
import json

import pytest

from malmoi.clean.entities import find_entity_issues
from malmoi.cli import main
from malmoi.data.schema import Entity, Example

CITIES = ["london", "paris", "berlin", "madrid", "rome", "vienna", "oslo", "dublin"]
DAYS = ["today", "tomorrow", "monday", "friday", "sunday"]
FOODS = ["sushi", "pizza", "ramen", "tacos", "curry"]
TEMPLATES = {
    "weather": ("what is the weather in {city} {day}", "will it rain in {city} {day}"),
    "restaurant": ("find {food} near {city}", "book a {food} place in {city}"),
}


def _rows() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(text, intent, [(value, type)]) of a small bot: cities are LOC, days DATE, foods FOOD."""
    rows = []
    for intent, templates in TEMPLATES.items():
        for template, city, other in itertools.product(templates, CITIES, DAYS if intent == "weather" else FOODS):
            text = template.format(city=city, day=other, food=other)
            rows.append((text, intent, [(city, "LOC"), (other, "DATE" if intent == "weather" else "FOOD")]))
    return rows


def _example(text: str, intent: str, spans: list[tuple[str, str]], source: str) -> Example:
    entities = []
    for value, type_ in spans:
        start = text.index(value)
        entities.append(Entity(start, start + len(value), type_, value))
    return Example(text, intent, tuple(sorted(entities, key=lambda e: e.start)), source)


PLANTED = {
    3: ("missing entity", lambda spans: spans[1:]),  # the city is not tagged
    50: ("wrong type", lambda spans: [(spans[0][0], "FOOD"), spans[1]]),  # a city tagged FOOD
    20: ("wrong boundary", lambda spans: [(f"{spans[0][0]} {spans[1][0]}", "LOC")]),  # "rome friday" as one LOC
}


def _planted_examples() -> list[Example]:
    examples = []
    for i, (text, intent, spans) in enumerate(_rows()):
        if i in PLANTED:
            spans = PLANTED[i][1](spans)
        examples.append(_example(text, intent, spans, f"mem:{i}"))
    return examples


@pytest.fixture(scope="module")
def entity_result():
    return find_entity_issues(_planted_examples(), "en", splits=2, folds=4, seed=0)


def test_planted_entity_errors_are_found_and_named(entity_result):
    found = {s.source: s for s in entity_result.suspects}
    for i, (kind, _) in PLANTED.items():
        suspect = found.get(f"mem:{i}")
        assert suspect is not None, (i, [(s.text, s.kinds) for s in entity_result.suspects])
        assert kind in suspect.kinds
        true_spans = {(e.start, e.end, e.type) for e in _example(*_rows()[i][:2], _rows()[i][2], "").entities}
        assert {(e.start, e.end, e.type) for e in suspect.suggested} == true_spans
        assert suspect.times_checked == 2  # once per split
    # Few clean utterances are flagged with them, and the planted ones rank first.
    assert len(entity_result.suspects) <= len(PLANTED) + 3
    assert {s.source for s in entity_result.suspects[: len(PLANTED)]} == {f"mem:{i}" for i in PLANTED}
    doubts = [s.p_wrong for s in entity_result.suspects]
    assert doubts == sorted(doubts, reverse=True)


def test_no_entities_is_refused():
    with pytest.raises(ValueError, match="no utterance has an entity"):
        find_entity_issues([Example("hello there", "greet", (), "m:1"), Example("bye now", "bye", (), "m:2")], "en")


def _write_tagged_bot(root) -> None:
    (root / "data" / "intents").mkdir(parents=True)
    (root / "bot.yaml").write_text("name: tagged\nlanguage: en\n", "utf-8")
    by_intent: dict[str, list[list[str]]] = {}
    for example in _planted_examples():
        words, tags, position = example.text.split(), [], 0
        for word in words:
            start = example.text.index(word, position)
            position = start + len(word)
            entity = next((e for e in example.entities if e.start <= start < e.end), None)
            tags.append("O" if entity is None else f"S-{entity.type}")
        by_intent.setdefault(example.intent or "", []).append([example.text, " ".join(tags)])
    for intent, rows in by_intent.items():
        with open(root / "data" / "intents" / f"{intent}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["question", "label"])
            writer.writerows(rows)


@pytest.mark.slow
def test_clean_command_checks_entities_when_the_bot_has_them(tmp_path, capsys):
    bot = tmp_path / "bot"
    _write_tagged_bot(bot)
    before = {p.name: p.read_text("utf-8") for p in (bot / "data" / "intents").iterdir()}
    assert main(["clean", str(bot), "--rounds", "1", "--splits", "2", "--folds", "4", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    report = json.loads((bot / "clean" / "entity_suspects.json").read_text("utf-8"))
    sources = [s["source"] for s in report["suspects"]]
    assert any(s.endswith("weather.csv:5") for s in sources), sources  # row 3 of weather (after the header)
    assert (bot / "clean" / "entity_suspects.csv").read_text("utf-8").startswith("rank,p_wrong,kinds,text")
    assert "entity suspect(s)" in captured.err
    assert {p.name: p.read_text("utf-8") for p in (bot / "data" / "intents").iterdir()} == before  # nothing edited
    assert main(["clean", str(bot), "--no-entities", "--rounds", "1", "--splits", "2", "--folds", "4",
                 "--out", str(tmp_path / "plain")]) == 0
    assert not (tmp_path / "plain" / "entity_suspects.json").exists()
