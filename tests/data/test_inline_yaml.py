"""Inline-annotated YAML intent files: ``[서울](LOCATION)`` markup, merging, and their checks."""

from __future__ import annotations

import pytest
from bot_dirs import only

from malmoi.data import Entity, load_bot, validate_bot

YAML = "data/intents/more.yaml"


def test_inline_entities_and_both_item_forms(make_bot):
    bot = make_bot({YAML: (
        "intents:\n"
        "  weather:\n"
        "    - 내일 [서울](LOCATION) 날씨 알려줘\n"
        '    - "[부산](LOCATION) [모레](DATE) 비 와?"\n'
        "    - text: 우산 챙겨야 해?\n"
    )})
    _, data = load_bot(bot)
    first, second, third = [e for e in data.examples if e.source.startswith(str(bot / YAML))]
    assert first.text == "내일 서울 날씨 알려줘"
    assert first.entities == (Entity(3, 5, "LOCATION", "서울"),)
    assert first.source == f"{bot / YAML}:3"
    assert second.entities == (Entity(0, 2, "LOCATION", "부산"), Entity(3, 5, "DATE", "모레"))
    assert (third.text, third.intent, third.source) == ("우산 챙겨야 해?", "weather", f"{bot / YAML}:5")


def test_same_intent_in_csv_and_yaml_is_merged(make_bot):
    bot = make_bot({YAML: "intents:\n  weather:\n    - 우산 챙겨야 해?\n  greeting:\n    - 하이\n"})
    _, data = load_bot(bot)
    assert data.intents == ["greeting", "weather"]
    assert sum(e.intent == "weather" for e in data.examples) == 6


def test_offsets_follow_whitespace_normalization(make_bot):
    bot = make_bot({YAML: 'intents:\n  weather:\n    - "  내일   [ 서울  특별시 ](LOCATION)\\t날씨 "\n'})
    _, data = load_bot(bot)
    (example,) = [e for e in data.examples if e.source == f"{bot / YAML}:3"]
    assert example.text == "내일 서울 특별시 날씨"
    assert example.entities == (Entity(3, 9, "LOCATION", "서울 특별시"),)


def test_utterances_stay_text_not_yaml_booleans_or_numbers(make_bot):
    bot = make_bot({YAML: "intents:\n  greeting:\n    - yes\n    - 1.5\n    - null\n"})
    _, data = load_bot(bot)
    assert [e.text for e in data.examples if e.source.startswith(str(bot / YAML))] == ["yes", "1.5", "null"]


@pytest.mark.parametrize(
    ("item", "found", "hint"),
    [
        ('"[부산(LOCATION) 비 와?"', "a `[` without its `]`", ""),
        ('"[부산] 비 와?"', "`[부산]` without an entity type", "`[부산](LOCATION)`"),
        ('"부산] 비 와?"', "a `]` without its `[`", ""),
        ('"[부산](LOCATION 비 와?"', "the unfinished entity", "`)`"),
        ('"[](DATE) 비 와?"', "the empty entity `[](DATE)`", "between the brackets"),
        ('"[부산](S-LOCATION) 비"', "the entity type `S-LOCATION`", "`[부산](LOCATION)`"),
        ('"[부산](지역 이름) 비"', "the entity type `지역 이름`", "letters, digits"),
    ],
)
def test_malformed_brackets(make_bot, item, found, hint):
    bot = make_bot({YAML: f"intents:\n  weather:\n    - 내일 비 와?\n    - {item}\n"})
    problem = only(validate_bot(bot), bot / YAML, 4)
    assert found in problem.found
    assert hint in problem.hint


def test_unquoted_leading_bracket_is_a_yaml_error_with_a_quoting_hint(make_bot):
    bot = make_bot({YAML: "intents:\n  weather:\n    - 내일 비 와?\n    - [서울](LOCATION) 날씨\n"})
    problem = only(validate_bot(bot), bot / YAML, 4)
    assert "YAML syntax error" in problem.found
    assert 'quote it: - "[부산](LOCATION) 비 와?"' in problem.hint


def test_leading_bracket_parsed_as_a_list_gets_the_same_hint(make_bot):
    bot = make_bot({YAML: "intents:\n  weather:\n    - 내일 비 와?\n    - [서울]\n"})
    problem = only(validate_bot(bot), bot / YAML, 4)
    assert "a list as an utterance" in problem.found
    assert "quote it" in problem.hint


@pytest.mark.parametrize(
    ("content", "line", "found", "hint"),
    [
        ("intent:\n  weather:\n    - 비 와?\n", 1, "the key `intent`", "did you mean `intents`?"),
        ("- 비 와?\n", 1, "a list as the top level", ""),
        ("intents:\n  weather:\n", 2, "the intent `weather` with no utterances", "- utterance"),
        ("intents:\n  weather: 비 와?\n", 2, "text as the intent `weather`", ""),
        ("intents:\n  weather:\n    - txt: 비 와?\n", 3, "the key `txt`", "did you mean `text`?"),
        ("intents:\n  weather:\n    - 알람 시간: 3시\n", 3, "the key `알람 시간`", "quote an utterance"),
        ("", 1, "an empty file", "delete the file"),
        ("intents:\n  weather:\n    - 비 와?\n   - 눈 와?\n", 4, "YAML syntax error", "indentation"),
        ("intents:\n  weather:\n    - 비\x00 와?\n", 3, "the control character U+0000", "delete"),
    ],
)
def test_file_shape_problems(make_bot, content, line, found, hint):
    bot = make_bot({YAML: content})
    problem = only(validate_bot(bot), bot / YAML, line)
    assert found in problem.found
    assert hint in problem.hint


def test_misspelled_entity_type_in_yaml_gets_the_corrected_markup(make_bot):
    # Types are counted over all files: LOCATION is common in weather.csv and more.yaml.
    items = "".join(f"    - {city} [{city}](LOCATION)\n" for city in ["대전", "울산"])
    bot = make_bot({YAML: f"intents:\n  weather:\n{items}    - 수원 [수원](LOCATON) 날씨\n"})
    problem = only(validate_bot(bot), bot / YAML, 5)
    assert "the entity type `LOCATON` in `[수원](LOCATON)`" in problem.found
    assert "did you mean `[수원](LOCATION)`?" in problem.hint


def test_yml_extension_is_read_too(make_bot):
    bot = make_bot({"data/intents/more.yml": "intents:\n  weather:\n    - 우산 챙겨야 해?\n"})
    _, data = load_bot(bot)
    assert "우산 챙겨야 해?" in [e.text for e in data.examples]


def test_dotted_entity_type_in_inline_yaml_and_bot_yaml(make_bot):
    items = "".join(f"    - \"[{city}](city.name) 날씨\"\n" for city in ["대전", "울산", "수원", "서울", "부산"])
    bot = make_bot({
        "bot.yaml": "name: test\nentities: [DATE, LOCATION, city.name]\n",
        YAML: f"intents:\n  forecast:\n{items}",
    })
    assert [p for p in validate_bot(bot) if p.severity == "error"] == []
    _, data = load_bot(bot)
    assert "city.name" in data.entity_types
