import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from text_strategies import texts

from malmoi.text import get_tokenizer, normalize


def reference(text: str) -> str:
    """The simple definition normalize() must agree with."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(texts, st.text()))
def test_normalize_equals_nfc_and_collapsed(text):
    normalized = normalize(text)
    assert normalized.text == reference(text)
    assert len(normalized.offsets) == len(normalized.text) + 1
    assert len(normalized.ends) == len(normalized.text)
    assert normalized.offsets[-1] == len(text)
    assert normalized.offsets == sorted(normalized.offsets)
    assert all(s < e for s, e in zip(normalized.offsets, normalized.ends))


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, st.text()), st.data())
def test_to_original_gives_same_characters_modulo_nfc(text, data):
    normalized = normalize(text)
    n = len(normalized.text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    original_start, original_end = normalized.to_original(start, end)
    assert 0 <= original_start <= original_end <= len(text)
    if start == end:
        return
    # A span inside a character that NFC built from several maps to all of its source; widen
    # the normalized span the same way before comparing.
    offsets, ends = normalized.offsets, normalized.ends
    wide_start = min(i for i in range(n) if offsets[i] == offsets[start])
    wide_end = max(i for i in range(n) if ends[i] == ends[end - 1]) + 1
    source = text[original_start:original_end]
    assert collapse(unicodedata.normalize("NFC", source)) == normalized.text[wide_start:wide_end]


@settings(max_examples=200, deadline=None)
@given(texts.map(lambda t: unicodedata.normalize("NFC", t)))
def test_token_spans_map_back_exactly_without_combining_characters(text):
    normalized = normalize(text)
    for token in get_tokenizer("en").tokenize(normalized.text):
        start, end = normalized.to_original(token.start, token.end)
        assert text[start:end] == token.text


def test_normalize_composes_decomposed_jamo():
    text = "\u1112\u1161\u11ab\u1100\u1173\u11af"  # 한글 as six conjoining jamo
    normalized = normalize(text)
    assert normalized.text == "한글"
    assert normalized.offsets == [0, 3, 6]
    assert normalized.to_original(1, 2) == (3, 6)


def test_normalize_collapses_and_strips_whitespace():
    text = " \t내일\u3000\u3000서울  날씨\n"
    normalized = normalize(text)
    assert normalized.text == "내일 서울 날씨"
    assert normalized.offsets == [2, 3, 4, 6, 7, 8, 10, 11, 13]
    assert normalized.to_original(3, 5) == (6, 8)
    # The whole normalized text maps to the original without its outer whitespace.
    assert normalized.to_original(0, len(normalized.text)) == (2, 12)


def test_normalize_maps_reordered_sequence_as_one_cluster():
    # NFC decomposes U+0F73 and moves U+0338 to the front: no finer mapping exists.
    word = "\u0f71\u0f73\u0f73\u0338"
    normalized = normalize("x " + word)
    assert normalized.text == reference("x " + word)
    assert normalized.to_original(2, 3) == (2, 6)
    assert normalized.to_original(0, 1) == (0, 1)


def test_normalize_empty_text():
    normalized = normalize("  \n ")
    assert (normalized.text, normalized.offsets, normalized.ends) == ("", [4], [])
    assert normalized.to_original(0, 0) == (4, 4)


@pytest.mark.parametrize(("start", "end"), [(-1, 1), (2, 1), (0, 99)])
def test_to_original_rejects_spans_outside_text(start, end):
    with pytest.raises(ValueError, match="outside the normalized text"):
        normalize("서울 날씨").to_original(start, end)
