from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from malmoi.data.tags import (
    check_tags,
    detect_scheme,
    is_entity_type,
    malformed_tag_hint,
    split_tag,
    suggest_tag,
    tags_to_word_spans,
    word_spans_to_tags,
)


@pytest.mark.parametrize(
    ("tags", "scheme"),
    [
        (["O", "O"], "BIO"),
        (["B-DATE", "I-DATE", "O"], "BIO"),
        (["S-LOCATION", "O"], "BIOES"),
        (["B-DATE", "E-DATE"], "BIOES"),
        (["U-LOCATION"], "BILOU"),
        (["B-DATE", "L-DATE"], "BILOU"),
        (["U-A", "U-A", "S-A"], "BILOU"),  # mixed: the majority wins
        (["LOCATION", "X-DATE"], "BIO"),  # malformed tags are ignored
        (["s-date", "b-date", "e-date", "O"], "BIOES"),  # but a lowercase prefix counts as uppercase
        ([], "BIO"),
    ],
)
def test_detect_scheme(tags, scheme):
    assert detect_scheme(tags) == scheme


@pytest.mark.parametrize(
    ("tag", "parsed"),
    [
        ("O", ("O", "")),
        ("S-LOCATION", ("S", "LOCATION")),
        ("B-지역", ("B", "지역")),
        ("I-DATE_TIME", ("I", "DATE_TIME")),
        ("LOCATION", None),
        ("s-location", None),
        ("B-fromloc.city_name", ("B", "fromloc.city_name")),  # ATIS and Rasa write dotted types
        ("B-fromloc.", None),
        ("B-.city", None),
        ("B-a..b", None),
        ("X-DATE", None),
        ("B-", None),
        ("B-1DATE", None),
        ("o", None),
    ],
)
def test_split_tag(tag, parsed):
    assert split_tag(tag) == parsed


@pytest.mark.parametrize(
    ("tag", "parsed"),
    [
        ("O", ("O", "")),
        ("o", ("O", "")),
        ("", ("O", "")),
        ("S-LOCATION", ("S", "LOCATION")),
        ("s-location", ("S", "location")),  # a lowercase prefix counts
        ("U-X", ("U", "X")),  # BILOU prefixes are kept; the decoder knows them
        ("B-date-time", ("B", "date-time")),  # any text is a type
        ("LOCATION", ("I", "LOCATION")),  # a bare type is inside an entity of that type
        ("Q-X", ("I", "Q-X")),  # an unknown prefix is part of the type
        ("BB-X", ("I", "BB-X")),
    ],
)
def test_split_tag_leniently(tag, parsed):
    assert split_tag(tag, lenient=True) == parsed


@given(st.text(max_size=12))
def test_lenient_reading_agrees_with_strict_reading_where_that_one_reads(tag):
    strict = split_tag(tag)
    assert split_tag(tag, lenient=True) == strict or strict is None


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["O", "B-DATE", "E-DATE", "S-LOCATION", "O"], [(1, 2, "DATE"), (3, 3, "LOCATION")]),
        (["B-DATE", "I-DATE", "L-DATE", "U-LOCATION"], [(0, 2, "DATE"), (3, 3, "LOCATION")]),
        (["B-DATE", "I-DATE", "O", "B-LOCATION"], [(0, 1, "DATE"), (3, 3, "LOCATION")]),
        (["B-DATE", "B-DATE"], [(0, 0, "DATE"), (1, 1, "DATE")]),
        (["O", "O"], []),
        # Invalid sequences decode leniently.
        (["O", "I-DATE", "O"], [(1, 1, "DATE")]),
        (["B-DATE", "I-TIME"], [(0, 0, "DATE"), (1, 1, "TIME")]),
        (["B-DATE", "O"], [(0, 0, "DATE")]),
    ],
)
def test_tags_to_word_spans(tags, spans):
    assert tags_to_word_spans(tags) == spans


def test_tags_to_word_spans_reads_malformed_tags_as_o_unless_lenient():
    tags = ["LOCATION", "b-DATE", "e-DATE", "O"]
    assert tags_to_word_spans(tags) == []
    assert tags_to_word_spans(tags, lenient=True) == [(0, 0, "LOCATION"), (1, 2, "DATE")]


@st.composite
def spans_and_length(draw):
    """Non-overlapping word spans over a sentence of random length."""
    length = draw(st.integers(0, 12))
    spans, position = [], 0
    while position < length and draw(st.booleans()):
        first = draw(st.integers(position, length - 1))
        last = draw(st.integers(first, min(length - 1, first + 3)))
        spans.append((first, last, draw(st.sampled_from(["DATE", "LOCATION", "지역"]))))
        position = last + 1
    return spans, length


@given(spans_and_length(), st.sampled_from(["BIO", "BIOES", "BILOU"]))
def test_word_spans_round_trip_in_every_scheme(spans_length, scheme):
    spans, length = spans_length
    tags = word_spans_to_tags(spans, length, scheme)
    assert len(tags) == length
    assert check_tags(tags, scheme) == []
    assert tags_to_word_spans(tags) == spans


@pytest.mark.parametrize(
    ("tags", "index", "found", "expected", "hint"),
    [
        # I- without a preceding B- of the same type.
        (["O", "I-DATE", "O"], 1, "`I-DATE` at word 2 after `O`", "after `B-DATE` or `I-DATE`", "`B-DATE`"),
        (["I-DATE"], 0, "at word 1 after the start of the sentence", "`B-DATE`", "`B-DATE`"),
        (["O", "E-DATE"], 1, "`E-DATE` at word 2 after `O`", "`B-DATE`", "`S-DATE`"),
        (["O", "L-DATE", "U-DATE"], 1, "`L-DATE` at word 2", "`B-DATE`", "`U-DATE`"),
        # B- not closed in BIOES / BILOU.
        (["B-DATE", "O", "S-DATE"], 0, "`B-DATE` at word 1 not closed before `O`", "`E-DATE`", "`S-DATE`"),
        (["O", "S-X", "B-DATE"], 2, "`B-DATE` at word 3 not closed at the end", "`E-DATE`", "`E-DATE`"),
        (["B-DATE", "I-DATE", "U-X"], 1, "`I-DATE` at word 2 not closed before `U-X`", "`L-DATE`", "`U-DATE`"),
        # A type change inside an entity.
        (["B-DATE", "E-TIME", "S-X"], 1, "`E-TIME` at word 2 inside the DATE entity", "`E-DATE`", "`B-TIME`"),
        (["B-DATE", "I-TIME"], 1, "`I-TIME` at word 2 inside the DATE entity", "`I-DATE`", "`B-TIME`"),
        # A tag of another scheme.
        (["S-DATE", "S-DATE", "U-DATE"], 2, "`U-DATE` at word 3, a tag of another scheme", "BIOES", "one scheme"),
    ],
)
def test_check_tags_reports_each_invalid_transition(tags, index, found, expected, hint):
    (issue,) = check_tags(tags)
    assert issue.index == index
    assert found in issue.found
    assert expected in issue.expected
    assert hint in issue.hint
    assert found in str(issue)


def test_check_tags_reports_every_issue_but_no_echo():
    # An orphan I- is one issue, not also "not closed"; two separate faults are two issues.
    issues = check_tags(["O", "I-DATE", "O", "B-LOCATION", "O", "S-X"])
    assert [i.index for i in issues] == [1, 3]


@pytest.mark.parametrize(
    "tags",
    [["O"], ["S-A", "B-B", "I-B", "E-B"], ["B-A", "I-A", "O", "B-A"], ["U-A", "B-A", "L-A"], []],
)
def test_check_tags_accepts_valid_sequences(tags):
    assert check_tags(tags) == []


@pytest.mark.parametrize(
    ("tag", "scheme", "known", "guess"),
    [
        ("LOCATION", "BIOES", [], "S-LOCATION"),
        ("LOCATION", "BIO", [], "B-LOCATION"),
        ("LOCATION", "BILOU", [], "U-LOCATION"),
        ("s-location", "BIOES", ["LOCATION"], "S-LOCATION"),
        ("b_date", "BIO", ["DATE"], "B-DATE"),
        ("o", "BIO", [], "O"),
        ("0", "BIO", [], "O"),
        ("X-DATE", "BIOES", [], None),
        ("E-DATE", "BIO", [], None),
        ("?!", "BIO", [], None),
    ],
)
def test_suggest_tag(tag, scheme, known, guess):
    assert suggest_tag(tag, scheme, known) == guess


@pytest.mark.parametrize(
    ("tag", "scheme", "hint"),
    [
        ("s-DATE", "BIOES", "did you mean `S-DATE`? Prefixes are uppercase: `S-`, not `s-`"),
        ("b-date", "BIO", "did you mean `B-date`? Prefixes are uppercase: `B-`, not `b-`"),
        ("X-DATE", "BIOES", "prefixes are uppercase and joined to the entity type by `-`"),
    ],
)
def test_malformed_tag_hint_says_when_only_the_case_is_wrong(tag, scheme, hint):
    assert malformed_tag_hint(tag, scheme) == hint


@pytest.mark.parametrize(
    ("name", "ok"),
    [("LOCATION", True), ("지역", True), ("fromloc.city_name", True), ("a.b.c", True),
     ("depart_date.day_number", True), ("a..b", False), (".a", False), ("a.", False), ("1a", False),
     ("a-b", False)],
)
def test_entity_type_names_may_contain_dots_between_names(name, ok):
    assert is_entity_type(name) is ok
