"""bot.yaml: pydantic errors mapped to YAML lines, with did-you-mean hints."""

from __future__ import annotations

import pytest
from bot_dirs import only

from malmoi.data import load_bot, validate_bot


def test_settings_are_read(make_bot):
    bot = make_bot({"bot.yaml": "name: 날씨봇\nmin_examples_per_intent: 3\nentities: [LOCATION, DATE]\n"
                                "settings:\n  encoder: {dim: 64}\n"})
    config, _ = load_bot(bot)
    assert (config.name, config.min_examples_per_intent) == ("날씨봇", 3)
    assert list(config.entities or ()) == ["LOCATION", "DATE"]  # stored as a mapping; the list form still reads
    assert config.settings.encoder.dim == 64


def test_empty_bot_yaml_means_defaults(make_bot):
    config, _ = load_bot(make_bot({"bot.yaml": ""}))
    assert config.min_examples_per_intent == 5


def test_missing_bot_yaml_shows_a_minimal_file_and_data_is_still_checked(make_bot):
    bot = make_bot({"bot.yaml": None, "data/intents/weather.csv": "question,label\n서울 날씨,O\n"})
    problems = validate_bot(bot)
    problem = only(problems, bot / "bot.yaml")
    assert problem.line is None and "`name: mybot`" in problem.hint
    assert only(problems, bot / "data/intents/weather.csv", 2)


def test_bot_yml_gets_a_rename_hint(make_bot):
    bot = make_bot({"bot.yaml": None, "bot.yml": "name: test\n"})
    assert "rename bot.yml to bot.yaml" in only(validate_bot(bot), bot / "bot.yaml").hint


@pytest.mark.parametrize(
    ("content", "line", "found", "expected", "hint"),
    [
        ("name: test\nmin_examples_per_intnet: 3\n", 2,
         "the unknown key `min_examples_per_intnet`", "min_examples_per_intent",
         "did you mean `min_examples_per_intent`?"),
        ("name: test\nsettings:\n  encoder:\n    dimm: 64\n", 4,
         "the unknown key `settings.encoder.dimm`", "kernel_size", "did you mean `dim`?"),
        ("name: test\nsettings:\n  encoder: {dim: 3}\n", 3,
         "`settings.encoder.dim: 3`", "greater than or equal to 8", ""),
        ("name: test\nsettings:\n  encoder:\n    kind: lstm\n", 4,
         "`settings.encoder: {'kind': 'lstm'}`",
         "no encoder named 'lstm'; registered: bilstm, cnn, kiwi-vectors, model2vec, sentence-transformers, "
         "shared", ""),
        ("name: test\nsettings:\n  encoder:\n    type: bilstm\n    kernel_size: 3\n", 5,
         "the unknown key `settings.encoder.kernel_size`", "one of the keys type, dim", ""),
        ("name: test\nsettings:\n  encoder: {kernel_size: 4}\n", 3,
         "`settings.encoder: {'kernel_size': 4}`", "kernel_size must be odd", ""),
        ("name: test\nsettings:\n  encoder: {type: bilstm, dim: 33}\n", 3,
         "`settings.encoder: {'type': 'bilstm', 'dim': 33}`", "even dim", ""),
        ("name: test\nsettings:\n  intent: {loss: arcface}\n", 3,
         "`settings.intent.loss: 'arcface'`", "no intent loss named 'arcface'", ""),
        ("name: test\nentities: LOCATION\n", 2, "`entities: 'LOCATION'`", "list", ""),
        ("- name: test\n", 1, "list at the top level", "a mapping of settings", "`name: mybot`"),
        ("name: test\nname: again\n", 2, "the key `name` a second time", "each key once", "last one"),
        ("name: test\nsettings:\n  encoder: {dim: 64\n", 4, "YAML syntax error", "valid YAML", ""),
        ("name: test\n  language: ko\n", 2, "YAML syntax error", "valid YAML", "indentation"),
        ("name: test\nentities: [LOCATION, 1DATE]\n", 2, "the entity type `1DATE`", "letters", ""),
        ("name: test\nentities: [LOCATION, city..name]\n", 2, "the entity type `city..name`",
         "`.` allowed between names", "fromloc.city_name"),
        ("name: test\nsettings:\n  training: {seed: !!int abc}\n", 3, "a value YAML cannot read",
         "valid YAML", "quote"),
        ("name: test\ndescription: 2001-02-30\n", 2, "a value YAML cannot read", "valid YAML", ""),
    ],
)
def test_bot_yaml_problems_name_the_line(make_bot, content, line, found, expected, hint):
    bot = make_bot({"bot.yaml": content})
    problem = only([p for p in validate_bot(bot) if p.severity == "error"], bot / "bot.yaml", line)
    assert found in problem.found
    assert expected in problem.expected
    assert hint in problem.hint


def test_good_keys_still_apply_when_another_key_is_wrong(make_bot):
    # min_examples_per_intent: 6 still applies, so both five-example intents are reported.
    bot = make_bot({"bot.yaml": "name: test\nmin_examples_per_intent: 6\nlanguage: k\n"})
    problems = validate_bot(bot)
    assert only(problems, bot / "bot.yaml", 3)
    assert "at least 6" in only(problems, bot / "data/intents/weather.csv").expected
    assert only(problems, bot / "data/intents/greeting.csv")


def test_declared_entity_type_without_examples_is_a_warning(make_bot):
    bot = make_bot({"bot.yaml": "name: test\nentities:\n  - LOCATION\n  - DATE\n  - TIME\n"})
    problem = only(validate_bot(bot), bot / "bot.yaml", 5)
    assert problem.severity == "warning" and "`TIME`" in problem.found
