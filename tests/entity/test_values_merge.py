"""The merge rule between CRF spans, system values, dictionary and pattern entities."""

from __future__ import annotations

from malmoi.entity.values import Value
from malmoi.entity.values.dictionary import Dictionary, DictionaryMatcher
from malmoi.entity.values.merge import Span, crf_span, merge

TEXT = "다음 주 금요일에 서울특별시 가요"
FRIDAY = Value("time", 0, 8, "다음 주 금요일", "2024-05-24T00:00:00+09:00", "day")


def rows(spans: list[Span]) -> list[tuple[str, str, object, str]]:
    return [(s.entity, s.text, s.resolved, s.source) for s in spans]


def test_a_crf_date_holding_a_time_takes_its_resolution() -> None:
    date = crf_span("DATE", 0, 9, TEXT)  # the tagger took the particle too: "다음 주 금요일에"
    assert rows(merge([date], [FRIDAY])) == [("DATE", "다음 주 금요일에", "2024-05-24T00:00:00+09:00", "crf")]
    assert merge([date], [FRIDAY])[0].grain == "day"


def test_a_crf_span_inside_a_longer_time_takes_its_span_too() -> None:
    date = crf_span("DATE", 5, 8, TEXT)  # only "금요일"
    assert rows(merge([date], [FRIDAY])) == [("DATE", "다음 주 금요일", "2024-05-24T00:00:00+09:00", "crf")]


def test_a_value_with_other_words_around_it_is_not_the_crf_entity() -> None:
    text = "3번 출구에서 만나"
    exit_ = crf_span("EXIT", 0, 5, text)  # "3번 출구"
    three = Value("number", 0, 1, "3", 3)
    assert rows(merge([exit_], [three])) == [("EXIT", "3번 출구", None, "crf")]  # rule 3 drops the number


def test_a_crf_entity_that_is_a_synonym_takes_the_canonical_value() -> None:
    city = Dictionary("CITY")
    city.add("서울", ["서울특별시"], 1, [])
    matcher = DictionaryMatcher([city])
    span = crf_span("CITY", 10, 15, TEXT)
    assert rows(merge([span], synonyms=matcher.resolve)) == [("CITY", "서울특별시", "서울", "crf")]
    found = matcher.find(TEXT)
    assert rows(merge([span], dictionary=found)) == [("CITY", "서울특별시", "서울", "crf")]
    assert rows(merge([crf_span("LOCATION", 10, 15, TEXT)], dictionary=found)) == [
        ("LOCATION", "서울특별시", None, "crf")]  # another type's dictionary does not resolve it


def test_outside_crf_spans_the_longest_wins_then_pattern_dictionary_system() -> None:
    text = "AB-123456 주문"
    pattern = Value("ORDER_ID", 0, 9, "AB-123456", "AB-123456")
    number = Value("number", 3, 9, "123456", 123456)
    code = Value("CODE", 0, 9, "AB-123456", "AB")
    system_same = Value("phone", 0, 9, "AB-123456", "x")
    assert rows(merge([], [number], [], [pattern])) == [("ORDER_ID", "AB-123456", "AB-123456", "pattern")]
    assert rows(merge([], [system_same], [code], [pattern]))[0][3] == "pattern"
    assert rows(merge([], [system_same], [code], []))[0][3] == "dictionary"
    later = Value("number", 20, 26, "123456", 123456)
    assert rows(merge([], [later, FRIDAY])) == [("sys.time", "다음 주 금요일", FRIDAY.resolved, "system"),
                                                ("sys.number", "123456", 123456, "system")]
    assert text[pattern.start : pattern.end] == pattern.text


def test_crf_entities_stand_against_overlapping_values() -> None:
    station = Value("STATION", 10, 15, "서울특별시", "서울역")
    place = crf_span("PLACE", 10, 15, TEXT)
    assert rows(merge([place], [FRIDAY], [station])) == [
        ("sys.time", "다음 주 금요일", FRIDAY.resolved, "system"), ("PLACE", "서울특별시", None, "crf")]
