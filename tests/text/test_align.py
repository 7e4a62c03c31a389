import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from text_strategies import check_tokens, texts_with_entities

from malmoi.data.schema import Entity
from malmoi.text import (
    Token,
    entities_to_tags,
    entity_boundaries,
    get_tokenizer,
    split_at,
    tags_to_entities,
)

TOKENIZERS = {"ko": get_tokenizer("ko"), "unicode": get_tokenizer("en")}


def words(text: str) -> list[Token]:
    return get_tokenizer("en").tokenize(text)


# --- round trip ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(texts_with_entities(), st.sampled_from(["BIO", "BIOES"]), st.sampled_from(["ko", "unicode"]))
def test_entities_survive_tags_round_trip(text_and_entities, scheme, language):
    text, entities = text_and_entities
    tokens = split_at(TOKENIZERS[language].tokenize(text), text, entity_boundaries(entities))
    check_tokens(tokens, text)
    tags = entities_to_tags(tokens, entities, scheme)
    assert len(tags) == len(tokens)
    assert tags_to_entities(tokens, tags, text) == entities


@settings(max_examples=100, deadline=None)
@given(texts_with_entities(), st.sets(st.integers(-2, 60)))
def test_split_at_cuts_exactly_at_boundaries(text_and_entities, extra):
    text, _ = text_and_entities
    tokens = get_tokenizer("ko").tokenize(text)
    pieces = split_at(tokens, text, extra)
    check_tokens(pieces, text)
    for piece in pieces:
        assert not any(piece.start < b < piece.end for b in extra)
    assert {t.start for t in tokens} <= {p.start for p in pieces}


def test_split_at_keeps_pos_and_drops_form():
    token = Token("알려", 0, 2, "VV+EC", "알리+어")
    assert split_at([token], "알려", [1]) == [
        Token("알", 0, 1, "VV+EC"),
        Token("려", 1, 2, "VV+EC"),
    ]


def test_split_at_strips_whitespace_from_pieces_of_foreign_tokens():
    # Another tokenizer may keep multi-word tokens; pieces never start or end with a space.
    text = "New York  City"
    token = Token(text, 0, len(text), "NNP")
    assert split_at([token], text, [3, 4, 9]) == [
        Token("New", 0, 3, "NNP"),
        Token("York", 4, 8, "NNP"),
        Token("City", 10, 14, "NNP"),
    ]


# --- encoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("BIOES", ["O", "S-LOC", "O", "B-DATE", "I-DATE", "E-DATE"]),
        ("BIO", ["O", "B-LOC", "O", "B-DATE", "I-DATE", "I-DATE"]),
    ],
)
def test_entities_to_tags_schemes(scheme, expected):
    text = "to Seoul on May 5 2025"
    entities = [Entity(3, 8, "LOC", "Seoul"), Entity(12, 22, "DATE", "May 5 2025")]
    assert entities_to_tags(words(text), entities, scheme) == expected


def test_entities_to_tags_korean_entity_inside_word():
    text = "서울역에서 만나"
    entities = [Entity(0, 2, "LOC", "서울")]
    tokens = split_at(get_tokenizer("ko").tokenize(text), text, entity_boundaries(entities))
    tags = entities_to_tags(tokens, entities)
    assert tags[0] == "S-LOC" and tokens[0].text == "서울"
    assert tags_to_entities(tokens, tags, text) == entities


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        ([Entity(0, 2, "A", "ab")], "cuts token 'abc'"),
        ([Entity(1, 3, "A", "bc")], "cuts token 'abc'"),
        ([Entity(3, 4, "A", " ")], "covers no token"),
        ([Entity(0, 3, "A", "abc"), Entity(2, 7, "B", "c def")], "overlap"),
    ],
)
def test_entities_to_tags_rejects_unaligned_entities(entities, message):
    with pytest.raises(ValueError, match=message):
        entities_to_tags(words("abc def"), entities)


def test_entities_to_tags_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="expected 'BIO' or 'BIOES'"):
        entities_to_tags(words("a"), [], "BILOU")  # type: ignore[arg-type]


# --- tolerant decoding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["O", "I-X", "I-X", "O"], [(1, 3, "X")]),  # I- after O opens an entity
        (["B-X", "I-X", "I-X", "I-X"], [(0, 4, "X")]),  # never closed by E-: closes at the end
        (["B-X", "I-X", "O", "O"], [(0, 2, "X")]),
        (["B-X", "I-Y", "E-Y", "O"], [(0, 1, "X"), (1, 3, "Y")]),  # a type change splits
        (["B-X", "B-X", "S-X", "O"], [(0, 1, "X"), (1, 2, "X"), (2, 3, "X")]),
        (["E-X", "E-X", "O", "S-Y"], [(0, 1, "X"), (1, 2, "X"), (3, 4, "Y")]),
        (["I-X", "E-X", "I-X", "O"], [(0, 2, "X"), (2, 3, "X")]),
        (["S-X", "I-X", "E-X", "O"], [(0, 1, "X"), (1, 3, "X")]),
        (["U-X", "B-Y", "L-Y", "O"], [(0, 1, "X"), (1, 3, "Y")]),  # BILOU
        (["B-date-time", "E-date-time", "O", "O"], [(0, 2, "date-time")]),
        (["X", "X", "", "Q-X"], [(0, 2, "X"), (3, 4, "Q-X")]),  # malformed tags still decode
        (["O", "O", "O", "O"], []),
    ],
)
def test_tags_to_entities_is_tolerant(tags, expected):
    text = "aa bb cc dd"
    got = tags_to_entities(words(text), tags, text)
    assert [(e.start // 3, (e.end + 1) // 3, e.type) for e in got] == expected
    assert all(e.value == text[e.start : e.end] for e in got)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["O", "B-X", "I-X", "E-X", "S-X", "I-Y", "L-Y", "U-Y", "junk"]),
                min_size=6, max_size=6))  # fmt: skip
def test_tags_to_entities_never_fails(tags):
    text = "a b c d e f"
    tokens = words(text)
    entities = tags_to_entities(tokens, tags, text)
    bounds = {t.start for t in tokens}, {t.end for t in tokens}
    for first, second in itertools.pairwise(entities):
        assert first.end <= second.start
    for entity in entities:
        assert entity.start in bounds[0] and entity.end in bounds[1]
        assert entity.value == text[entity.start : entity.end]


def test_tags_to_entities_rejects_length_mismatch():
    with pytest.raises(ValueError, match="2 tags for 1 tokens"):
        tags_to_entities(words("a"), ["O", "O"], "a")
