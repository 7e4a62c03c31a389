"""The generated demo bot: deterministic, committed as generated, and valid Kochat-style data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from malmoi.demo.generate import DOMAIN_WORDS, SAMPLE_QUESTIONS, _attach, generate_demo_bot

CSV_INTENTS = ["dust", "restaurant", "travel", "weather"]
ENTITY_TYPES = {"DATE", "LOCATION", "PLACE", "RESTAURANT"}
COMMITTED = Path(__file__).resolve().parents[2] / "examples" / "demo-bot"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _rows(bot: Path, intent: str) -> list[dict[str, str]]:
    with open(bot / "data" / "intents" / f"{intent}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _greetings(bot: Path) -> list[str]:
    data = yaml.safe_load((bot / "data" / "intents" / "greeting.yaml").read_text(encoding="utf-8"))
    return data["intents"]["greeting"]


def _ood(bot: Path) -> list[str]:
    return (bot / "data" / "ood" / "ood.txt").read_text(encoding="utf-8").splitlines()


def _is_bioes(tags: list[str]) -> bool:
    """Reference check: S-/B-…I-…E- spans of one type, never left open or interleaved."""
    open_type = None
    for tag in tags:
        if tag == "O":
            if open_type is not None:
                return False
            continue
        prefix, _, kind = tag.partition("-")
        if kind not in ENTITY_TYPES:
            return False
        if prefix in ("S", "B"):
            if open_type is not None:
                return False
            open_type = kind if prefix == "B" else None
        elif prefix in ("I", "E"):
            if open_type != kind:
                return False
            open_type = None if prefix == "E" else kind
        else:
            return False
    return open_type is None


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo_bot(tmp_path_factory.mktemp("demo") / "bot")


def test_generate_same_seed_gives_identical_files(bot: Path, tmp_path: Path) -> None:
    again = generate_demo_bot(tmp_path / "again", seed=0)
    assert _files(again) == _files(bot)


def test_generate_other_seed_gives_other_data(bot: Path, tmp_path: Path) -> None:
    other = generate_demo_bot(tmp_path / "other", seed=1)
    assert _files(other)["data/intents/weather.csv"] != _files(bot)["data/intents/weather.csv"]


def test_committed_example_equals_fresh_generation(bot: Path) -> None:
    assert _files(COMMITTED) == _files(bot), (
        "examples/demo-bot drifted from the generator; regenerate it with "
        "`python -m malmoi.demo.generate examples/demo-bot`"
    )


def test_bot_yaml_has_identity_scenarios_and_dialogue(bot: Path) -> None:
    from malmoi.settings import BotConfig

    settings = yaml.safe_load((bot / "bot.yaml").read_text(encoding="utf-8"))
    assert list(settings) == ["name", "language", "description", "scenarios", "dialogue"]
    assert settings["name"] == "malmoi-demo"
    assert settings["language"] == "ko"
    config = BotConfig.model_validate(settings)  # training settings stay the defaults
    assert set(config.scenarios) == set(CSV_INTENTS)
    assert set(config.dialogue.answers) == {"greeting"}
    assert {e for s in config.scenarios.values() for e in s.entities} == ENTITY_TYPES


@pytest.mark.parametrize("intent", CSV_INTENTS)
def test_csv_rows_have_one_valid_bioes_tag_per_word(bot: Path, intent: str) -> None:
    rows = _rows(bot, intent)
    assert rows and list(rows[0]) == ["question", "label"]
    for row in rows:
        words, tags = row["question"].split(), row["label"].split()
        assert len(words) == len(tags), row
        assert _is_bioes(tags), row


@pytest.mark.parametrize("intent", CSV_INTENTS)
def test_csv_intent_has_enough_distinct_utterances(bot: Path, intent: str) -> None:
    questions = [row["question"] for row in _rows(bot, intent)]
    assert len(questions) >= 300
    assert len(set(questions)) == len(questions)


def test_entities_cover_every_type_with_particles(bot: Path) -> None:
    rows = [row for intent in CSV_INTENTS for row in _rows(bot, intent)]
    tags = {t for row in rows for t in row["label"].split()}
    assert {t.partition("-")[2] for t in tags if t != "O"} == ENTITY_TYPES
    assert {"B-DATE", "I-DATE", "E-DATE", "S-LOCATION", "B-PLACE", "S-RESTAURANT"} <= tags
    tagged_words = [
        w for row in rows for w, t in zip(row["question"].split(), row["label"].split()) if t != "O"
    ]
    assert any(w.endswith("에서") for w in tagged_words)  # 서울에서: Kochat tags the whole word


def test_no_utterance_appears_under_two_intents(bot: Path) -> None:
    by_intent = {intent: {r["question"] for r in _rows(bot, intent)} for intent in CSV_INTENTS}
    by_intent["greeting"] = set(_greetings(bot))
    seen: set[str] = set()
    for questions in by_intent.values():
        assert not questions & seen
        seen |= questions


def test_greeting_yaml_is_an_inline_intent_without_entities(bot: Path) -> None:
    greetings = _greetings(bot)
    assert "안녕" in greetings
    assert 90 <= len(greetings) == len(set(greetings))
    assert all(isinstance(g, str) and "[" not in g for g in greetings)


def test_ood_is_large_distinct_and_disjoint_from_intents(bot: Path) -> None:
    ood = _ood(bot)
    assert len(ood) >= 600
    assert len(set(ood)) == len(ood)
    in_domain = {r["question"] for i in CSV_INTENTS for r in _rows(bot, i)} | set(_greetings(bot))
    assert not set(ood) & in_domain
    assert not [line for line in ood if any(w in line for w in DOMAIN_WORDS)]


def test_sample_questions_are_not_training_data(bot: Path) -> None:
    assert len(SAMPLE_QUESTIONS) >= 6
    data = {r["question"] for i in CSV_INTENTS for r in _rows(bot, i)}
    data |= set(_greetings(bot)) | set(_ood(bot))
    assert not set(SAMPLE_QUESTIONS) & data
    all_text = " ".join(data)
    assert "삼척" not in all_text and "보령" not in all_text  # the samples' unseen cities


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("서울", "은", "서울은"),
        ("제주", "은", "제주는"),
        ("피자", "이", "피자가"),
        ("국밥", "이", "국밥이"),
        ("바다", "으로", "바다로"),
        ("한옥마을", "으로", "한옥마을로"),
        ("산", "으로", "산으로"),
        ("부산", "에서", "부산에서"),
        ("3일", "은", "3일은"),
    ],
)
def test_attach_particle_follows_final_consonant(word: str, particle: str, expected: str) -> None:
    assert _attach(word, particle) == expected
