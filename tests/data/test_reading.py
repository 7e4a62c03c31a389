"""Text normalization of training data, against the normalization used at inference."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from malmoi.data._reading import collapse_spaces, normalize_text
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
