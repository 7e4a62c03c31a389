"""bot.yaml's system entities, dictionaries and patterns become extractor parts of the trained model:
their entities reach the parse result with `resolved`, merged with the tagger's by one rule, and a
saved model keeps them without its bot directory."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import malmoi
from malmoi.cli import main
from malmoi.data import load_bot, validate_bot
from malmoi.entity.extractors import configured_extractors
from malmoi.model.result import EntitySpan
from tiny_bot import write_tiny_bot

NOW = datetime(2024, 5, 15, 10, 0, tzinfo=timezone(timedelta(hours=9)))  # a Wednesday in Seoul
SETTINGS = "system_entities: [time, number]\nentities:\n  LOCATION:\n  DATE:\n  RESTAURANT:\n" + \
           "  ORDER_ID: {pattern: \"[A-Z]{2}-\\\\d{6}\"}\n  STATION: {typos: true}\n"


def write_values_bot(root: Path) -> Path:
    bot = write_tiny_bot(root, training="{epochs: 12, patience: 12, batch_size: 16}")
    yaml = (bot / "bot.yaml").read_text("utf-8")
    (bot / "bot.yaml").write_text(yaml + SETTINGS, "utf-8")
    (bot / "data" / "entities").mkdir()
    cities = "# cities\n서울,서울시,서울특별시\n부산,부산광역시\n"
    (bot / "data" / "entities" / "LOCATION.csv").write_text(cities, "utf-8")
    (bot / "data" / "entities" / "STATION.yml").write_text("강남역: [강남 역]\n고속터미널역: [고터]\n", "utf-8")
    return bot


@pytest.fixture(scope="module")
def values_model(tmp_path_factory: Any) -> Any:
    bot = write_values_bot(tmp_path_factory.mktemp("values") / "bot")
    model = malmoi.train(bot, progress=False)
    saved = model.save(bot.parent / "model")
    shutil.rmtree(bot)  # a served model needs no bot directory
    return model, malmoi.load(saved), saved


def entities(result: Any) -> list[tuple[str, str, Any]]:
    return [(e.entity, e.value, e.resolved) for e in result.entities]


def test_the_declared_extractors_are_parts_of_the_model(values_model):
    model, _, _ = values_model
    assert {name: t for name, (kind, t) in model.part_types.items() if kind == "extractors"} == {
        "extractor-system-values": "system-values.v1", "extractor-dictionary": "dictionary.v1",
        "extractor-pattern": "pattern.v1"}
    assert {"sys.time", "sys.number", "ORDER_ID", "STATION", "LOCATION"} <= set(model.entity_types)


def test_a_tagged_date_gets_the_time_resolution_and_a_tagged_synonym_the_canonical_value(values_model):
    for model in values_model[:2]:
        result = model.parse("내일 서울특별시 날씨 알려줘", now=NOW)
        found = {e.entity: e for e in result.entities}
        assert (found["DATE"].value, found["DATE"].resolved, found["DATE"].grain) == (
            "내일", "2024-05-16T00:00:00+09:00", "day")
        assert (found["LOCATION"].value, found["LOCATION"].resolved) == ("서울특별시", "서울")
        assert "sys.time" not in found  # the tagger's DATE took it (one entity, not two)
        dumped = result.to_dict()["entities"]
        assert {"entity": "DATE", "value": "내일", "start": 0, "end": 2,
                "resolved": "2024-05-16T00:00:00+09:00", "grain": "day"} in dumped


def test_system_values_patterns_and_dictionaries_outside_tagged_spans(values_model):
    model, reloaded, _ = values_model
    assert model.extractors[0].value_types() == {"DATE": "sys.time"}  # learned from the examples: not LOCATION
    # Without the tiny bot's tagger, which tags anything in a text so unlike its examples.
    bare = copy.copy(reloaded)
    bare.parts = {name: part for name, part in reloaded.parts.items() if name != "entity"}
    text = "주문 AB-123456 고터에서 세 명 오후 두 시 반"
    result = bare.parse(text, now=NOW)
    assert ("ORDER_ID", "AB-123456", "AB-123456") in entities(result)
    assert ("STATION", "고터", "고속터미널역") in entities(result)
    assert ("sys.number", "세", 3) in entities(result)
    assert ("sys.time", "오후 두 시 반", "2024-05-15T14:30:00+09:00") in entities(result)
    typo = bare.parse("고속터미날역 가는 길", now=NOW)
    assert ("STATION", "고속터미날역", "고속터미널역") in entities(typo)


def test_the_reference_time_is_the_bots_zone_and_naive_times_are_read_there(values_model):
    model, _, _ = values_model
    naive = model.parse("내일 모레 만나", now=datetime(2024, 5, 15, 23, 30))  # 23:30 in Seoul
    utc = model.parse("내일 모레 만나", now=datetime(2024, 5, 15, 14, 30, tzinfo=timezone.utc))  # the same moment
    assert naive == utc
    assert any(str(e.resolved).startswith("2024-05-16") for e in naive.entities)


def test_a_bot_without_values_has_no_extractor_and_writes_four_keys(tmp_path):
    config, _ = load_bot(write_tiny_bot(tmp_path / "bot"))
    assert configured_extractors(config) == []  # so its parse runs no extractor and no merge
    assert EntitySpan(entity="LOCATION", value="부산", start=0, end=2).model_dump() == {
        "entity": "LOCATION", "value": "부산", "start": 0, "end": 2}


def test_malformed_dictionary_rows_and_patterns_are_validate_errors_with_file_and_line(tmp_path):
    bot = write_values_bot(tmp_path / "bot")
    (bot / "bot.yaml").write_text((bot / "bot.yaml").read_text("utf-8").replace(
        '"[A-Z]{2}-\\\\d{6}"', '"[A-Z]{2-\\\\d{6}("'), "utf-8")
    (bot / "data" / "entities" / "LOCATION.csv").write_text("서울,서울시\n,부산광역시\n", "utf-8")
    errors = [p for p in validate_bot(bot) if p.severity == "error"]
    row = next(p for p in errors if p.file.endswith("LOCATION.csv"))
    assert (row.line, row.hint) == (2, "write the value first: `부산광역시`")
    pattern = next(p for p in errors if p.file.endswith("bot.yaml"))
    lines = (bot / "bot.yaml").read_text("utf-8").splitlines()
    assert "ORDER_ID" in lines[pattern.line - 1] and "ORDER_ID" in pattern.found and "escape" in pattern.hint


def test_parse_and_test_take_now(values_model, tmp_path, capsys):
    saved = values_model[2]
    assert main(["parse", str(saved), "내일 서울 날씨 알려줘", "--now", "2024-02-28T22:00"]) == 0
    date = next(e for e in json.loads(capsys.readouterr().out)["entities"] if e["entity"] == "DATE")
    assert date["resolved"] == "2024-02-29T00:00:00+09:00"  # a leap day, in the bot's zone
    (tmp_path / "in.txt").write_text("내일 서울 날씨 알려줘\n", "utf-8")
    assert main(["parse", str(saved), "--input", str(tmp_path / "in.txt"), "--output", str(tmp_path / "out.jsonl"),
                 "--now", "2024-12-31T09:00:00+00:00"]) == 0
    line = json.loads((tmp_path / "out.jsonl").read_text("utf-8"))
    assert next(e for e in line["entities"] if e["entity"] == "DATE")["resolved"] == "2025-01-01T00:00:00+09:00"
    with pytest.raises(SystemExit) as exit_:
        main(["parse", str(saved), "내일", "--now", "tomorrow"])
    assert exit_.value.code == 2 and "not an ISO 8601 time" in capsys.readouterr().err
