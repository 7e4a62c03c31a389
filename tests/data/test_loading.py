"""Whole-bot loading: the public surface, checks across files, robustness and speed."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pytest
from bot_dirs import BASE_FILES, GREETING_CSV, only
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import malmoi.data
from malmoi.data import DataError, Entity, Problem, load_bot, load_intent_file, validate_bot
from malmoi.data.tags import word_spans_to_tags

WEATHER = "data/intents/weather.csv"
GREETING = "data/intents/greeting.csv"


def test_public_api():
    assert malmoi.data.__all__ == [
        "BotData",
        "DataError",
        "Entity",
        "Example",
        "Problem",
        "load_bot",
        "load_intent_file",
        "load_ood_file",
        "read_intent_file",
        "validate_bot",
    ]


def test_load_bot_raises_one_data_error_with_every_problem(make_bot):
    bot = make_bot({
        "bot.yaml": "nmae: test\n",
        WEATHER: "question,label\n내일 서울 날씨,O S-LOCATION\n인천 날씨,S-LOCATION O\n",
        "data/intents/notes.txt": "",
    })
    with pytest.raises(DataError) as raised:
        load_bot(bot)
    problems = raised.value.problems
    assert problems == validate_bot(bot)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 3  # bot.yaml key, word/tag count, too few weather examples
    message = str(raised.value)
    assert message.startswith("3 problem(s) in the bot data:")
    for problem in errors:
        assert str(problem) in message
    assert "notes.txt" not in message  # warnings are carried, not shown as errors


def test_load_bot_logs_warnings_to_the_malmoi_logger(make_bot, caplog):
    bot = make_bot({GREETING: GREETING_CSV + "안녕\n", "data/intents/notes.md": "# notes"})
    with caplog.at_level(logging.WARNING, logger="malmoi"):
        _, data = load_bot(bot)
    assert len(data.examples) == 11
    assert [r.name for r in caplog.records] == ["malmoi", "malmoi"]
    assert f"{bot / GREETING}:7: warning: found `안녕` again (first at {bot / GREETING}:2)" in caplog.text
    assert "notes.md" in caplog.text


def test_many_warnings_are_logged_with_a_summary(make_bot, caplog):
    bot = make_bot({GREETING: GREETING_CSV + "안녕\n" * 30})
    with caplog.at_level(logging.WARNING, logger="malmoi"):
        load_bot(bot)
    assert len(caplog.records) == 21
    assert "and 10 more warnings" in caplog.records[-1].getMessage()


def test_load_intent_file(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text(BASE_FILES[WEATHER], "utf-8")
    examples = load_intent_file(path)
    assert {e.intent for e in examples} == {"weather"} and len(examples) == 5


# 5. duplicates
def test_same_utterance_under_two_intents_names_both_places(make_bot):
    bot = make_bot({WEATHER: BASE_FILES[WEATHER] + " 안녕하세요 ,O\n"})
    problem = only(validate_bot(bot), bot / WEATHER, 7)
    assert problem.severity == "error"
    assert f"`안녕하세요` under intent `weather`, and under `greeting` at {bot / GREETING}:3" in problem.found


def test_duplicate_within_an_intent_is_a_warning(make_bot):
    bot = make_bot({WEATHER: BASE_FILES[WEATHER] + "인천   날씨,S-LOCATION O\n"})
    problem = only(validate_bot(bot), bot / WEATHER, 7)
    assert problem.severity == "warning"
    assert f"`인천 날씨` again (first at {bot / WEATHER}:5)" in problem.found


def test_same_utterance_with_other_entities_is_a_warning(make_bot):
    bot = make_bot({WEATHER: BASE_FILES[WEATHER] + "다음 주 대구 날씨 어때,S-DATE S-DATE S-LOCATION O O\n"})
    problem = only(validate_bot(bot), bot / WEATHER, 7)
    assert problem.severity == "warning"
    assert "labelled [다음:DATE, 주:DATE, 대구:LOCATION] here but [다음 주:DATE, 대구:LOCATION]" in problem.found


# 7. examples per intent
def test_intent_with_too_few_examples(make_bot):
    bot = make_bot({"data/intents/farewell.yaml": "intents:\n  farewell:\n    - 잘 가\n    - 안녕히 계세요\n"})
    problem = only(validate_bot(bot), bot / "data/intents/farewell.yaml")
    assert problem.line is None
    assert "2 example(s) of the intent `farewell`" in str(problem)
    assert "at least 5 (min_examples_per_intent in bot.yaml)" in str(problem)


# 8. whole-bot shape
def test_a_bot_of_one_intent_is_valid(make_bot):
    # An entity-only bot: one intent with entities, and fallback for everything else.
    bot = make_bot({GREETING: None, "data/ood/ood.txt": "노래 틀어줘\n알람 맞춰줘\n"})
    assert validate_bot(bot) == []
    _, data = load_bot(bot)
    assert data.intents == ["weather"]


def test_a_bot_of_one_intent_without_ood_data_gets_a_warning(make_bot):
    bot = make_bot({GREETING: None})
    problem = only(validate_bot(bot), bot / "data/intents")
    assert problem.severity == "warning" and "data/ood/" in problem.expected
    assert load_bot(bot)[1].intents == ["weather"]


def test_no_intent_with_examples_is_an_error(make_bot):
    bot = make_bot({GREETING: None, WEATHER: None, "data/intents/notes.md": "#"})
    problem = only([p for p in validate_bot(bot) if p.severity == "error"], bot / "data/intents")
    assert problem.found == "no intent with examples" and "at least 1 intent" in problem.expected


@pytest.mark.parametrize("name", ["fallback", "Fallback", "FALLBACK"])
def test_an_intent_file_named_fallback_is_refused(make_bot, name):
    bot = make_bot({f"data/intents/{name}.csv": GREETING_CSV, GREETING: None})
    problem = only([p for p in validate_bot(bot) if p.severity == "error"], bot / f"data/intents/{name}.csv")
    assert f"the intent `{name}`" in problem.found and "reserves `fallback`" in problem.expected
    assert "data/ood/" in problem.hint and "rename the file" in problem.hint
    with pytest.raises(DataError):
        load_bot(bot)


def test_a_yaml_intent_named_fallback_is_refused_on_its_line(make_bot):
    bot = make_bot({"data/intents/more.yaml": "intents:\n  chitchat:\n    - 뭐해\n  Fallback:\n    - 노래 틀어줘\n"})
    problem = only([p for p in validate_bot(bot) if p.severity == "error"], bot / "data/intents/more.yaml", 4)
    assert "the intent `Fallback`" in problem.found and "reserves `fallback` (in any case)" in problem.expected


def test_intents_that_differ_only_in_case_are_a_warning_naming_both_files(make_bot):
    rows = "".join(f"{c} 기온\n" for c in ["춘천", "원주", "강릉", "속초", "동해"])
    bot = make_bot({"data/intents/Weather.csv": "question\n" + rows})
    problem = only(validate_bot(bot), bot / WEATHER)  # sorted after Weather.csv: the second one
    assert problem.severity == "warning"
    assert "`weather`" in problem.found and "`Weather`" in problem.found
    assert str(bot / "data/intents/Weather.csv") in problem.found
    assert load_bot(bot)[1].intents == ["Weather", "greeting", "weather"]


def test_a_looping_symlink_is_reported_as_one(make_bot):
    bot = make_bot()
    (bot / "data/intents/loop.csv").symlink_to("loop.csv")
    problem = only(validate_bot(bot), bot / "data/intents/loop.csv")
    assert problem.severity == "error" and "a symbolic link that loops" in problem.found
    assert "not read" not in str(problem)


def test_a_broken_symlink_names_its_missing_target(make_bot):
    bot = make_bot()
    (bot / "data/intents/dust.csv").symlink_to("/nowhere/dust.csv")
    (bot / "data/intents/notes.md").symlink_to("/nowhere/notes.md")
    problems = validate_bot(bot)
    problem = only(problems, bot / "data/intents/dust.csv")
    assert problem.severity == "error" and "a broken symbolic link to `/nowhere/dust.csv`" in problem.found
    assert only(problems, bot / "data/intents/notes.md").severity == "warning"  # not a data file


# 9. skip_invalid: train on the valid rows, list the others
def test_skip_invalid_leaves_out_rows_with_errors_and_lists_them(make_bot):
    bot = make_bot({WEATHER: BASE_FILES[WEATHER] + "전주 눈 올까,S-LOCATION O\n"
                    "강원도 춘천 날씨,I-LOCATION E-LOCATION O\n\u200b,O\n"})
    with pytest.raises(DataError):
        load_bot(bot)
    _, data = load_bot(bot, skip_invalid=True)
    assert len([e for e in data.examples if e.intent == "weather"]) == 5
    assert [(p.file, p.line) for p in data.left_out] == [(str(bot / WEATHER), 7), (str(bot / WEATHER), 8),
                                                         (str(bot / WEATHER), 9)]
    assert all(p.severity == "error" and p.skippable for p in data.left_out)
    assert load_bot(make_bot())[1].left_out == []  # nothing to leave out, nothing listed


def test_skip_invalid_leaves_out_every_copy_of_an_utterance_under_two_intents(make_bot):
    bot = make_bot({"bot.yaml": "name: test\nmin_examples_per_intent: 3\n",
                    GREETING: GREETING_CSV + "인천 날씨\n인천 날씨\n", "data/ood/ood.txt": "노래 틀어줘\n안녕\n"})
    _, data = load_bot(bot, skip_invalid=True)
    assert "인천 날씨" not in {e.text for e in data.examples}
    assert "안녕" in {e.text for e in data.examples} and "안녕" not in {e.text for e in data.ood}
    conflicts = [p for p in data.left_out if "인천 날씨" in p.found]
    assert [(Path(p.file).name, p.line) for p in conflicts] == [("greeting.csv", 7), ("greeting.csv", 8),
                                                               ("weather.csv", 5)]
    assert "and under `weather` at" in conflicts[0].found and "and under `greeting` at" in conflicts[2].found


def test_skip_invalid_leaves_out_rows_with_an_undeclared_entity_type(make_bot):
    bot = make_bot({"bot.yaml": "name: test\nentities: [DATE, LOCATION]\n",
                    WEATHER: BASE_FILES[WEATHER] + "전주 날씨,S-CITY O\n"})
    _, data = load_bot(bot, skip_invalid=True)
    assert [(p.line, "`CITY`" in p.found) for p in data.left_out] == [(7, True)]
    assert data.entity_types == ["DATE", "LOCATION"]


def test_skip_invalid_still_stops_at_errors_of_a_whole_file(make_bot):
    bot = make_bot({"bot.yaml": "nmae: test\n", GREETING: GREETING_CSV.encode("cp949")})
    with pytest.raises(DataError) as raised:
        load_bot(bot, skip_invalid=True)
    errors = [p for p in raised.value.problems if p.severity == "error"]
    assert [(Path(p.file).name, p.line) for p in errors] == [("bot.yaml", 1), ("greeting.csv", 2)]
    assert "not UTF-8" in str(errors[1])


def test_skip_invalid_still_needs_enough_examples_per_intent(make_bot):
    bot = make_bot({WEATHER: BASE_FILES[WEATHER].replace(",S-DATE S-LOCATION O O", ",S-DATE O O")})
    with pytest.raises(DataError) as raised:
        load_bot(bot, skip_invalid=True)
    (problem,) = [p for p in raised.value.problems if p.severity == "error"]
    assert "4 example(s) of the intent `weather`, after leaving out 1 with errors" in problem.found


def test_validate_names_the_conflict_once_and_the_way_out(make_bot):
    bot = make_bot({GREETING: GREETING_CSV + "인천 날씨\n"})
    problem = only([p for p in validate_bot(bot) if p.severity == "error"], bot / WEATHER, 5)
    assert "malmoi clean" in problem.hint and "--skip-invalid" in problem.hint


def test_no_intents_folder(make_bot):
    bot = make_bot({WEATHER: None, GREETING: None, "data/intent/weather.csv": BASE_FILES[WEATHER]})
    problem = only(validate_bot(bot), bot / "data/intents")
    assert f"rename `{bot / 'data/intent'}`" in problem.hint


@pytest.mark.parametrize("make_path", [lambda p: p / "nowhere", lambda p: p / "file.txt"])
def test_missing_bot_directory_is_a_problem(tmp_path, make_path):
    (tmp_path / "file.txt").write_text("", "utf-8")
    path = make_path(tmp_path)
    (problem,) = validate_bot(path)
    assert problem.file == str(path) and str(problem).startswith(f"{path}: error:")
    with pytest.raises(DataError):
        load_bot(path)


def test_unsupported_files_and_folders_in_intents_are_warnings(make_bot):
    bot = make_bot({"data/intents/notes.json": "{}", "data/intents/old/weather.csv": "question\n",
                    "data/intents/.DS_Store": b"\0\1", "data/intents/~$weather.csv": b"lock"})
    problems = validate_bot(bot)
    assert {(Path(p.file).name, p.severity) for p in problems} == {("notes.json", "warning"),
                                                                   ("old", "warning")}
    assert "`.json` file" in only(problems, bot / "data/intents/notes.json").found


# Robustness: bad data is a problem, never a traceback.
def _write_and_validate(root: Path, relative: str, content: bytes) -> list[Problem]:
    path = root / relative
    path.write_bytes(content)
    problems = validate_bot(root)
    assert all(isinstance(p, Problem) and p.file and p.found for p in problems)
    return problems


@pytest.fixture(scope="module")
def scratch_bot():
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for relative, content in BASE_FILES.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(content, "utf-8")
        (root / "data/ood").mkdir()
        yield root


CSV_PIECES = st.sampled_from(["서울", "날씨", " ", "  ", ",", '"', "\n", "\r\n", "\r", "O", "S-LOCATION",
                              "B-DATE", "E-DATE", "I-DATE", "L-X", "U-X", "s-loc", "question", "label",
                              "\ufeff", "\x00", "\u3000", "[서울](LOC)", "é"])
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_an_intent_csv_never_raise(scratch_bot, content):
    _write_and_validate(scratch_bot, "data/intents/fuzz.csv", content)


@FUZZ
@given(st.lists(CSV_PIECES, max_size=40).map("".join))
def test_random_csv_like_text_never_raises(scratch_bot, text):
    _write_and_validate(scratch_bot, "data/intents/fuzz.csv", ("question,label\n" + text).encode())


@FUZZ
@given(st.text(max_size=200), st.sampled_from(["data/intents/fuzz.yaml", "bot.yaml", "data/ood/fuzz.txt",
                                               "data/ood/fuzz.csv"]))
def test_random_text_as_any_file_never_raises(scratch_bot, text, relative):
    original = (scratch_bot / "bot.yaml").read_bytes()
    try:
        _write_and_validate(scratch_bot, relative, text.encode("utf-8", "surrogatepass"))
    finally:
        (scratch_bot / relative).unlink()
        (scratch_bot / "bot.yaml").write_bytes(original)


YAML_PIECES = st.sampled_from([
    "intents:", "\n", "  ", "- ", "weather:", "text:", "[", "]", "(", ")", "LOCATION", "서울", '"', "'",
    "{", "}", ":", ",", "&a ", "*a", "!!int ", "!!float ", "!!timestamp ", "!!binary ", "2001-02-30",
    "#", "settings:", "encoder:", "dim:", "entities:", "min_examples_per_intent:", "name:", "7", "x",
])


@FUZZ
@given(st.lists(YAML_PIECES, max_size=40).map("".join), st.sampled_from(["data/intents/fuzz.yaml",
                                                                         "bot.yaml"]))
def test_random_yaml_like_text_never_raises(scratch_bot, text, relative):
    original = (scratch_bot / "bot.yaml").read_bytes()
    try:
        _write_and_validate(scratch_bot, relative, text.encode())
    finally:
        (scratch_bot / relative).unlink()
        (scratch_bot / "bot.yaml").write_bytes(original)


@st.composite
def tagged_sentences(draw):
    words = draw(st.lists(st.sampled_from(["내일", "서울", "부산", "날씨", "알려줘", "다음", "주", "비"]),
                          min_size=1, max_size=8))
    spans, position = [], 0
    while position < len(words) and draw(st.booleans()):
        first = draw(st.integers(position, len(words) - 1))
        last = draw(st.integers(first, min(len(words) - 1, first + 2)))
        spans.append((first, last, draw(st.sampled_from(["DATE", "LOCATION"]))))
        position = last + 1
    return words, spans


@settings(max_examples=50, deadline=None)
@given(st.lists(tagged_sentences(), min_size=1, max_size=6), st.sampled_from(["BIO", "BIOES", "BILOU"]))
def test_tagged_csv_loads_the_entities_it_was_written_from(tmp_path_factory, sentences, scheme):
    # Reference: entity values are the words the spans cover, joined by one space.
    path = tmp_path_factory.mktemp("csv") / "weather.csv"
    rows = [f"{' '.join(words)},{' '.join(word_spans_to_tags(spans, len(words), scheme))}"
            for words, spans in sentences]
    path.write_text("question,label\n" + "\n".join(rows) + "\n", "utf-8")
    examples = load_intent_file(path)
    for example, (words, spans) in zip(examples, sentences, strict=True):
        assert example.text == " ".join(words)
        expected = []
        for first, last, type_ in spans:
            start = len(" ".join(words[:first])) + (1 if first else 0)
            value = " ".join(words[first : last + 1])
            expected.append(Entity(start, start + len(value), type_, value))
        assert list(example.entities) == expected


def test_twenty_thousand_rows_load_in_well_under_two_seconds(make_bot):
    cities = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "전주", "제주"]
    rows = ["question,label"]
    for i in range(20_000):
        city = cities[i % 10]
        rows.append(f"다음 주 {city} {i}번 날씨 알려줘,B-DATE E-DATE S-LOCATION O O O")
    bot = make_bot({WEATHER: "\n".join(rows) + "\n"})
    # CPU time, not wall time: CI machines are shared, and the claim is about our own cost.
    start = time.process_time()
    _, data = load_bot(bot)
    elapsed = time.process_time() - start
    assert len(data.examples) == 20_005
    assert elapsed < 2.0, f"{elapsed:.2f} s"
