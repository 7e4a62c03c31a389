"""Kochat CSV intent files: parsing, entity spans, and every per-row check with file:line."""

from __future__ import annotations

import unicodedata

import pytest
from bot_dirs import WEATHER_CSV, only

from malmoi.data import Entity, load_bot, validate_bot

INTENT = "data/intents/weather.csv"


def weather(*rows: str, header: str = "question,label") -> str:
    return "\n".join([header, *rows]) + "\n"


def test_clean_base_bot_has_no_problems(make_bot):
    assert validate_bot(make_bot()) == []


def test_entities_are_character_spans_of_the_normalized_text(make_bot):
    bot = make_bot({INTENT: weather(
        "다음 주   대구 날씨 어때,B-DATE E-DATE S-LOCATION O O",
        '"서울, 부산 날씨",S-LOCATION S-LOCATION O',
        "인천 날씨,S-LOCATION O",
        "오늘 광주 맑아?,S-DATE S-LOCATION O",
        unicodedata.normalize("NFD", " 내일 서울 날씨 ") + ",S-DATE S-LOCATION O",
    )})
    _, data = load_bot(bot)
    weather_examples = [e for e in data.examples if e.intent == "weather"]
    first, quoted, *_, decomposed = weather_examples
    assert first.text == "다음 주 대구 날씨 어때"
    assert first.entities == (Entity(0, 4, "DATE", "다음 주"), Entity(5, 7, "LOCATION", "대구"))
    assert quoted.text == "서울, 부산 날씨"
    assert [e.value for e in quoted.entities] == ["서울,", "부산"]  # a span covers its whole word
    assert decomposed.text == "내일 서울 날씨"  # NFC: jamo typed on macOS become syllables
    assert decomposed.entities[1] == Entity(3, 5, "LOCATION", "서울")
    for example in data.examples:
        for entity in example.entities:
            assert example.text[entity.start : entity.end] == entity.value


def test_source_is_the_physical_line_with_blank_rows_and_quoted_newlines(make_bot):
    bot = make_bot({INTENT: (
        "question,label\n"
        "\n"  # blank rows are skipped silently, as in Kochat's restaurant.csv
        "인천 날씨,S-LOCATION O\n"
        '"두 줄\n질문",O O O\n'
        " , \n"
        "오늘 광주 맑아?,S-DATE S-LOCATION O\n"
        "서울 날씨,S-LOCATION O\n"
        "부산 날씨,S-LOCATION O\n"
    )})
    _, data = load_bot(bot)
    lines = [e.source.rsplit(":", 1)[1] for e in data.examples if e.intent == "weather"]
    assert lines == ["3", "4", "7", "8", "9"]
    assert data.examples[-4].text == "두 줄 질문"


def test_label_column_is_optional(make_bot):
    _, data = load_bot(make_bot())
    greetings = [e for e in data.examples if e.intent == "greeting"]
    assert len(greetings) == 5 and all(e.entities == () for e in greetings)


@pytest.mark.parametrize(
    "rows",
    [
        ["다음 주 대구,B-DATE I-DATE B-LOCATION", "대구 다음 주,B-LOCATION B-DATE I-DATE"],
        ["다음 주 대구,B-DATE L-DATE U-LOCATION", "대구 다음 주,U-LOCATION B-DATE L-DATE"],
    ],
)
def test_bio_and_bilou_files_load_like_bioes(make_bot, rows):
    bot = make_bot({INTENT: weather(*rows, "맑아?,O", "흐려?,O", "비 와?,O O")})
    _, data = load_bot(bot)
    first, second = data.examples[5:7]  # greeting.csv comes first
    assert [(e.value, e.type) for e in first.entities] == [("다음 주", "DATE"), ("대구", "LOCATION")]
    assert [(e.value, e.type) for e in second.entities] == [("대구", "LOCATION"), ("다음 주", "DATE")]


# 1. word/tag count mismatch
def test_word_and_tag_count_mismatch_names_both_counts_words_and_tags(make_bot):
    bot = make_bot({INTENT: weather("내일 서울 날씨,O S-LOCATION", "인천 날씨,S-LOCATION O")})
    problem = only(validate_bot(bot), bot / INTENT, 2)
    assert "3 word(s) `내일 서울 날씨` but 2 tag(s) `O S-LOCATION`" in str(problem)
    assert "one tag per space-separated word" in problem.expected


# 2. unknown or misspelled tags
@pytest.mark.parametrize(
    ("tag", "hint"),
    [
        ("LOCATION", "did you mean `S-LOCATION`?"),
        ("s-location", "did you mean `S-LOCATION`?"),
        ("X-LOCATION", "uppercase"),
        ("o", "did you mean `O`?"),
    ],
)
def test_malformed_tag_is_reported_with_a_guess(make_bot, tag, hint):
    bot = make_bot({INTENT: weather("인천 날씨,S-LOCATION O", f"서울 날씨,{tag} O")})
    problem = only(validate_bot(bot), bot / INTENT, 3)
    assert f"the tag `{tag}` on the word" in str(problem)
    assert "this file is BIOES" in problem.expected
    assert hint in problem.hint


def test_a_file_tagged_in_lowercase_is_told_to_uppercase_its_prefixes(make_bot):
    rows = ["내일 서울 날씨,s-DATE s-LOCATION O", "다음 주 부산 날씨,b-DATE e-DATE s-LOCATION O"]
    bot = make_bot({INTENT: weather(*rows)})
    problem = next(p for p in validate_bot(bot) if p.line == 2)
    assert "this file is BIOES" in problem.expected  # not "BIO", which has no S- to suggest
    assert problem.hint == "did you mean `S-DATE`? Prefixes are uppercase: `S-`, not `s-`"


def test_dotted_entity_types_load_as_atis_and_rasa_write_them(make_bot):
    bot = make_bot({INTENT: weather(*[f"{c} 날씨,S-city.name O" for c in ["서울", "부산", "대구", "인천", "광주"]])})
    assert validate_bot(bot) == []
    _, data = load_bot(bot)
    assert data.entity_types == ["city.name"]


def test_rare_entity_type_close_to_a_common_one_is_a_likely_typo(make_bot):
    bot = make_bot({INTENT: weather(*[f"{c} 날씨,S-LOCATION O" for c in "서울 부산 대구 인천 광주".split()],
                                    "울산 날씨,S-LOCATON O")})
    problem = only(validate_bot(bot), bot / INTENT, 7)
    assert "the entity type `LOCATON` in `S-LOCATON`" in str(problem)
    assert "did you mean `S-LOCATION`?" in problem.hint
    assert "`LOCATION` is used 5 times, `LOCATON` 1" in problem.expected


def test_rare_type_that_is_not_close_to_another_is_fine(make_bot):
    bot = make_bot({INTENT: weather(*[f"{c} 날씨,S-LOCATION O" for c in "서울 부산 대구 인천 광주".split()],
                                    "우산 챙겨,S-ITEM O")})
    assert validate_bot(bot) == []


def test_entity_type_not_declared_in_bot_yaml(make_bot):
    bot = make_bot({"bot.yaml": "name: test\nentities: [LOCATION, DATE]\n",
                    INTENT: weather("인천 날씨,S-LOCATION O", "내일 날씨,S-DATE O",
                                    "서울 날씨,S-LOCATON O", "우산 챙겨,S-ITEM O", "맑아?,O")})
    problems = validate_bot(bot)
    typo = only(problems, bot / INTENT, 4)
    assert "declared in bot.yaml: LOCATION, DATE" in typo.expected
    assert "did you mean `S-LOCATION`?" in typo.hint
    undeclared = only(problems, bot / INTENT, 5)
    assert "`ITEM`" in str(undeclared) and "add `ITEM` to `entities`" in undeclared.hint


# 3. invalid sequences
@pytest.mark.parametrize(
    ("label", "found", "hint"),
    [
        ("O I-DATE O", "`I-DATE` at word 2 after `O`", "start the entity with `B-DATE`"),
        ("B-DATE O O", "`B-DATE` at word 1 not closed before `O`", "`E-DATE`"),
        ("B-DATE E-TIME O", "`E-TIME` at word 2 inside the DATE entity", "one type"),
    ],
)
def test_invalid_tag_sequence(make_bot, label, found, hint):
    bot = make_bot({INTENT: weather("인천 날씨,S-LOCATION O", f"다음 주 날씨,{label}")})
    problem = only(validate_bot(bot), bot / INTENT, 3)
    assert found in problem.found
    assert "`다음/" in problem.found  # shows each word with its tag
    assert hint in problem.hint


def test_every_problem_of_a_file_is_reported_at_once(make_bot):
    bot = make_bot({INTENT: weather(
        "내일 서울 날씨,O S-LOCATION",
        "서울 날씨,LOCATION O",
        "다음 주 날씨,O I-DATE O",
        "인천 날씨,S-LOCATION O",
        "부산 날씨,S-LOCATION O",
    )})
    problems = validate_bot(bot)
    assert [(p.file, p.line) for p in problems] == [(str(bot / INTENT), line) for line in (2, 3, 4)]


# 4. empty files
@pytest.mark.parametrize(("content", "found"), [("", "an empty file"), ("\n\n", "an empty file"),
                                                ("question,label\n", "a header but no data rows")])
def test_empty_intent_file(make_bot, content, found):
    bot = make_bot({"data/intents/empty.csv": content})
    problem = only(validate_bot(bot), bot / "data/intents/empty.csv", 1)
    assert problem.found == found and problem.severity == "error"


# 6. encodings
def test_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(make_bot):
    content = weather("인천 날씨,S-LOCATION O", "서울 날씨,S-LOCATION O").encode("cp949")
    bot = make_bot({INTENT: content})
    problem = only(validate_bot(bot), bot / INTENT, 2)
    assert "not UTF-8" in problem.found
    assert "iconv -f cp949 -t utf-8" in problem.hint


def test_bad_byte_line_counts_from_the_start_of_the_file_with_a_bom(make_bot):
    content = "\ufeffquestion\n안녕\n".encode() + "날씨\n".encode("cp949")
    bot = make_bot({INTENT: content})
    problem = only(validate_bot(bot), bot / INTENT, 3)
    assert f"byte {len(content) - 5} of the file" in problem.found


def test_utf16_file_gets_a_utf16_hint(make_bot):
    bot = make_bot({INTENT: WEATHER_CSV.encode("utf-16")})
    assert "iconv -f utf-16 -t utf-8" in only(validate_bot(bot), bot / INTENT, 1).hint


def test_utf8_bom_is_accepted_silently(make_bot):
    bot = make_bot({INTENT: "\ufeff".encode() + WEATHER_CSV.encode()})
    assert validate_bot(bot) == []


# 8. header, columns and cells
def test_missing_header_asks_for_one(make_bot):
    bot = make_bot({INTENT: "인천 날씨,S-LOCATION O\n서울 날씨,S-LOCATION O\n"})
    problem = only(validate_bot(bot), bot / INTENT, 1)
    assert "a `question` column" in problem.expected
    assert "add the line `question,label`" in problem.hint


def test_misspelled_header_gets_did_you_mean(make_bot):
    bot = make_bot({INTENT: weather("인천 날씨,S-LOCATION O", header="questoin,label")})
    assert "did you mean `question`" in only(validate_bot(bot), bot / INTENT, 1).hint


def test_unknown_column(make_bot):


    bot = make_bot({INTENT: WEATHER_CSV.replace("question,label", "question,lable", 1)})
    problems = validate_bot(bot)
    problem = only(problems, bot / INTENT, 1)
    assert "the column `lable`" in problem.found and "did you mean `label`?" in problem.hint


def test_unquoted_comma_in_question_suggests_quotes(make_bot):
    bot = make_bot({INTENT: weather("인천 날씨,S-LOCATION O", "서울, 부산 날씨,S-LOCATION S-LOCATION O")})
    problem = only(validate_bot(bot), bot / INTENT, 3)
    assert "3 field(s)" in problem.found and "double quotes" in problem.hint


def test_trailing_commas_from_spreadsheets_are_ignored(make_bot):
    rows = [line + "," for line in WEATHER_CSV.splitlines()]
    bot = make_bot({INTENT: "\n".join(rows) + "\n"})
    assert validate_bot(bot) == []


def test_empty_column_name_in_the_middle(make_bot):
    bot = make_bot({INTENT: WEATHER_CSV.replace("question,label", "question,,label", 1)})
    assert only(validate_bot(bot), bot / INTENT, 1).found == "an empty column name"


def test_empty_question_cell(make_bot):
    bot = make_bot({INTENT: weather("인천 날씨,S-LOCATION O", "  ,O")})
    assert only(validate_bot(bot), bot / INTENT, 3).found == "an empty question"
