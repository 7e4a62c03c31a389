"""Reading data files: normalization (against inference), junk utterances, the line limit."""

from __future__ import annotations

import csv
import tracemalloc
import unicodedata

import pytest
from bot_dirs import BASE_FILES, only
from hypothesis import given
from hypothesis import strategies as st

from malmoi.data import load_bot, validate_bot
from malmoi.data._reading import MAX_LINE_CHARS, collapse_spaces, normalize_text
from malmoi.text import normalize

# Decomposed jamo (ᄒ ᅡ ᆫ) and combining accents compose under NFC; \u200b is not whitespace.
KOREAN_AND_SPACES = st.text(
    st.sampled_from(["서", "울", "ᄒ", "ᅡ", "ᆫ", "a", "e", "\u0301", " ", "\t", "\n", "\u3000", "\xa0", "\u200b"]),
    max_size=30,
)


@given(st.one_of(KOREAN_AND_SPACES, st.text(max_size=30)))
def test_training_text_is_normalized_like_a_message_at_inference(text):
    assert normalize_text(text) == normalize(text).text


@given(KOREAN_AND_SPACES)
def test_normalization_is_idempotent(text):
    assert normalize_text(normalize_text(text)) == normalize_text(text)


@given(KOREAN_AND_SPACES, st.data())
def test_collapse_spaces_moves_spans_onto_their_characters(text, data):
    text = unicodedata.normalize("NFC", text)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    collapsed, (span,) = collapse_spaces(text, [(start, end)])
    assert collapsed == normalize_text(text)
    if span is None:
        assert not text[start:end].strip()
    else:
        assert collapsed[span[0] : span[1]] == normalize_text(text[start:end])


# Junk utterances: text a model cannot learn from is an error on its line, in every format.
JUNK = [("\u200b", "only invisible characters (U+200B ZERO WIDTH SPACE)"),
        ("\u200b\ufeff \u200d", "only invisible characters"),
        ("서울\x00 날씨", "the control character U+0000 NUL in `서울 날씨`"),
        ("\x00", "only control characters (U+0000 NUL)")]

# (file, its content around a text, the line of the text)
FORMATS = [
    ("data/intents/weather.csv", lambda t: BASE_FILES["data/intents/weather.csv"] + f"{t},O\n", 7),
    ("data/intents/more.yaml", lambda t: f"intents:\n  weather:\n    - 날씨 어때\n    - {t}\n", 4),
    ("data/ood/ood.txt", lambda t: f"노래 틀어줘\n{t}\n", 2),
    ("data/ood/ood.csv", lambda t: f"question\n노래 틀어줘\n{t}\n", 3),
]


@pytest.mark.parametrize(("text", "found"), JUNK)
@pytest.mark.parametrize(("relative", "write", "line"), FORMATS)
def test_invisible_and_control_character_utterances_are_errors_on_their_line(make_bot, relative, write, line,
                                                                              text, found):
    quoted = f'"{_yaml_escape(text)}"' if relative.endswith(".yaml") else text
    bot = make_bot({relative: write(quoted)})
    problem = only(validate_bot(bot), bot / relative, line)
    assert problem.severity == "error" and found in problem.found
    _, data = load_bot(bot, skip_invalid=True)
    assert [(p.file, p.line) for p in data.left_out] == [(str(bot / relative), line)]


def _yaml_escape(text: str) -> str:
    return "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in text)


def test_visible_text_with_a_zero_width_character_inside_is_kept(make_bot):
    bot = make_bot({"data/ood/ood.txt": "노래\u200b 틀어줘\n!!!\n"})
    assert validate_bot(bot) == []


# One line limit in every format: the csv module's field limit.
def test_the_line_limit_is_the_csv_field_limit():
    assert csv.field_size_limit() == MAX_LINE_CHARS


@pytest.mark.parametrize(("relative", "write", "line"), FORMATS)
@pytest.mark.parametrize("length", [MAX_LINE_CHARS + 1, 8 * MAX_LINE_CHARS])
def test_a_line_over_the_limit_is_an_error_in_every_format(make_bot, relative, write, line, length):
    bot = make_bot({relative: write("가" * length)})
    problem = only(validate_bot(bot), bot / relative, line)
    assert problem.severity == "error" and "131,072 characters" in str(problem)


def test_a_line_at_the_limit_is_read(make_bot):
    text = "가" * (MAX_LINE_CHARS - 2) + " 나"
    bot = make_bot({"data/ood/ood.txt": f"노래 틀어줘\n{text}\n"})
    assert validate_bot(bot) == []


def test_a_huge_line_is_refused_without_reading_the_file_into_memory(make_bot):
    # 24 MB on one line: YAML would take gigabytes of memory to parse it, as .txt took to split it.
    bot = make_bot({"data/intents/more.yaml": "intents:\n  weather:\n    - " + "가" * 8_000_000 + "\n"})
    tracemalloc.start()
    try:
        problems = validate_bot(bot)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "more than 131,072 characters" in only(problems, bot / "data/intents/more.yaml", 3).found
    assert peak < 8_000_000, f"{peak:,} bytes"
