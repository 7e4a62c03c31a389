"""The merge rule between CRF spans, system values, dictionary and pattern entities."""

from __future__ import annotations

from malmoi.entity.values.dictionary import Dictionary, DictionaryMatcher
from malmoi.entity.values.merge import merge
from malmoi.parts import Found

TEXT = "다음 주 금요일에 서울특별시 가요"
FRIDAY = Found("sys.time", 0, 8, "2024-05-24T00:00:00+09:00", "day", source="system")


def crf(entity: str, start: int, end: int) -> Found:
    return Found(entity, start, end, source="crf")


def rows(text: str, spans: list[Found]) -> list[tuple[str, str, object, str]]:
    return [(s.type, text[s.start : s.end], s.resolved, s.source) for s in spans]


def test_a_crf_date_holding_a_time_takes_its_resolution() -> None:
    date = crf("DATE", 0, 9)  # the tagger took the particle too: "다음 주 금요일에"
    assert rows(TEXT, merge(TEXT, [date, FRIDAY])) == [
        ("DATE", "다음 주 금요일에", "2024-05-24T00:00:00+09:00", "crf")]
    assert merge(TEXT, [date, FRIDAY])[0].grain == "day"


def test_a_crf_span_inside_a_longer_time_takes_its_span_too() -> None:
    date = crf("DATE", 5, 8)  # only "금요일"
    assert rows(TEXT, merge(TEXT, [date, FRIDAY])) == [("DATE", "다음 주 금요일", "2024-05-24T00:00:00+09:00", "crf")]


def test_a_value_with_other_words_around_it_is_not_the_crf_entity() -> None:
    text = "3번 출구에서 만나"
    three = Found("sys.number", 0, 1, 3, source="system")
    assert rows(text, merge(text, [crf("EXIT", 0, 5), three])) == [("EXIT", "3번 출구", None, "crf")]  # rule 3


def test_a_crf_entity_that_is_a_synonym_takes_the_canonical_value() -> None:
    city = Dictionary("CITY")
    city.add("서울", ["서울특별시"], 1, [])
    matcher = DictionaryMatcher([city])
    span = crf("CITY", 10, 15)
    assert rows(TEXT, merge(TEXT, [span], canonical=matcher.resolve)) == [("CITY", "서울특별시", "서울", "crf")]
    found = [Found(v.kind, v.start, v.end, v.resolved, source="dictionary") for v in matcher.find(TEXT)]
    assert rows(TEXT, merge(TEXT, [span, *found])) == [("CITY", "서울특별시", "서울", "crf")]
    assert rows(TEXT, merge(TEXT, [crf("LOCATION", 10, 15), *found])) == [
        ("LOCATION", "서울특별시", None, "crf")]  # another type's dictionary does not resolve it


def test_outside_crf_spans_the_longest_wins_then_pattern_dictionary_system_plugin() -> None:
    text = "AB-123456 주문 다음 주 금요일"
    pattern = Found("ORDER_ID", 0, 9, "AB-123456", source="pattern")
    number = Found("sys.number", 3, 9, 123456, source="system")
    code = Found("CODE", 0, 9, "AB", source="dictionary")
    system_same = Found("sys.phone", 0, 9, "x", source="system")
    plugin_same = Found("THING", 0, 9, "y")
    assert rows(text, merge(text, [number, pattern])) == [("ORDER_ID", "AB-123456", "AB-123456", "pattern")]
    assert merge(text, [plugin_same, system_same, code, pattern])[0].source == "pattern"
    assert merge(text, [plugin_same, system_same, code])[0].source == "dictionary"
    assert merge(text, [plugin_same, system_same])[0].source == "system"
    friday = Found("sys.time", 13, 21, "2024-05-24T00:00:00+09:00", "day", source="system")
    assert rows(text, merge(text, [friday, number])) == [("sys.number", "123456", 123456, "system"),
                                                         ("sys.time", "다음 주 금요일", friday.resolved, "system")]


def test_crf_entities_stand_against_overlapping_values() -> None:
    station = Found("STATION", 10, 15, "서울역", source="dictionary")
    assert rows(TEXT, merge(TEXT, [crf("PLACE", 10, 15), FRIDAY, station])) == [
        ("sys.time", "다음 주 금요일", FRIDAY.resolved, "system"), ("PLACE", "서울특별시", None, "crf")]


def test_a_crf_entity_inside_a_longer_match_of_its_dictionary_takes_the_match() -> None:
    found = Found("CITY", 10, 15, "서울", source="dictionary")
    assert rows(TEXT, merge(TEXT, [crf("CITY", 10, 12), found])) == [("CITY", "서울특별시", "서울", "crf")]


def test_only_types_learned_as_values_take_a_system_resolution() -> None:
    location = crf("LOCATION", 0, 8)
    assert rows(TEXT, merge(TEXT, [location, FRIDAY], value_types={"DATE": "sys.time"})) == [
        ("LOCATION", "다음 주 금요일", None, "crf")]
    assert merge(TEXT, [crf("DATE", 0, 8), FRIDAY], value_types={"DATE": "sys.time"})[0].resolved == FRIDAY.resolved


def test_the_system_values_part_learns_which_tagged_types_are_values() -> None:
    from malmoi.data.schema import Entity, Example
    from malmoi.entity.extractors import SystemValues, SystemValuesSettings

    examples = [Example("내일 부산", "w", (Entity(0, 2, "DATE", "내일"), Entity(3, 5, "LOCATION", "부산"))),
                Example("금요일에 3번 출구", "w",
                        (Entity(0, 4, "DATE", "금요일에"), Entity(5, 10, "EXIT", "3번 출구"))),
                Example("세 명", "w", (Entity(0, 3, "PEOPLE", "세 명"),))]
    part = SystemValues(SystemValuesSettings(kinds=["time", "number"])).fit(examples)
    assert part.value_types() == {"DATE": "sys.time"}  # "3번 출구" is more than a number; "세 명" too
