"""sys.number, sys.money, sys.duration, sys.ordinal: native and Sino-Korean numerals, digits, mixed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from malmoi.entity.values import find_values

NOW = datetime(2024, 5, 15, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))


def found(text: str, kind: str) -> list[tuple[str, object]]:
    return [(v.text, v.resolved) for v in find_values(text, [kind], now=NOW)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("네 잔", [("네", 4)]),
        ("이천삼백", [("이천삼백", 2300)]),
        ("2,500", [("2,500", 2500)]),
        ("5천", [("5천", 5000)]),
        ("사만 이천", [("사만 이천", 42000)]),
        ("오십팔만천구백", [("오십팔만천구백", 581900)]),
        ("스물다섯", [("스물다섯", 25)]),
        ("열한 명", [("열한", 11)]),
        ("3.5", [("3.5", 3.5)]),
        ("삼점사", [("삼점사", 3.4)]),
        ("마이너스 3", [("마이너스 3", -3)]),
        ("사분의삼", [("사분의삼", 0.75)]),
        ("사람 두 명", [("두", 2)]),  # 사 (4) inside 사람 is no number
        ("사람두명", [("두", 2)]),
        ("세 개 주세요", [("세", 3)]),
        ("일", [("일", 1)]),  # a one-word answer to "how many?"
    ],
)
def test_numbers(text: str, expected: list[tuple[str, object]]) -> None:
    assert found(text, "number") == expected


@pytest.mark.parametrize(
    "text",
    ["사람", "서울 영등포구 미세먼지", "일 하러 가자", "네, 맞아요", "열이 나요", "천천히 가자", "이천 날씨 알려줘"],
)
def test_syllables_of_words_are_no_numbers(text: str) -> None:
    # 영/구 inside place names, 일 (work), 네 (yes), 열 (fever), 천천히, 이천 (the city Icheon)
    assert found(text, "number") == []


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("사만 이천 원", 42000, "KRW"),
        ("4만2천원", 42000, "KRW"),
        ("42,000원", 42000, "KRW"),
        ("만원", 10000, "KRW"),
        ("15유로", 15, "EUR"),
        ("$10", 10, "USD"),
        ("이달러이십삼센트", 2.23, "USD"),
    ],
)
def test_money(text: str, amount: float, currency: str) -> None:
    assert found(text, "money") == [(text, {"amount": amount, "currency": currency})]


def test_money_ranges_and_bounds() -> None:
    assert found("만원 이하", "money") == [("만원 이하", {"to": {"amount": 10000, "currency": "KRW"}})]
    assert found("25000 - 30000원", "money") == [
        ("25000 - 30000원", {"from": {"amount": 25000, "currency": "KRW"}, "to": {"amount": 30000, "currency": "KRW"}})
    ]


@pytest.mark.parametrize(
    ("text", "span", "seconds"),
    [
        ("세 시간", "세 시간", 10800),
        ("이틀 동안", "이틀 동안", 172800),
        ("한 달", "한 달", 2_592_000),
        ("1시간 30분", "1시간 30분", 5400),
        ("한 시간 반", "한 시간 반", 5400),
        ("1.1 시간", "1.1 시간", 3960),
    ],
)
def test_durations(text: str, span: str, seconds: int) -> None:
    assert found(text, "duration") == [(span, {"seconds": seconds})]


def test_three_people_are_no_three_minutes() -> None:
    assert found("세 분 오세요", "duration") == []
    assert found("삼 분 걸려요", "duration") == [("삼 분", {"seconds": 180})]


@pytest.mark.parametrize(
    ("text", "n"), [("스물다섯번째", 25), ("첫번째", 1), ("첫째", 1), ("두 번째", 2), ("3번째", 3)]
)
def test_ordinals(text: str, n: int) -> None:
    assert found(text, "ordinal") == [(text, n)]


def test_a_number_inside_another_value_is_part_of_it() -> None:
    values = find_values("8시에 두 명 4만2천원", ["time", "number", "money"], now=NOW)
    assert [(v.kind, v.text) for v in values] == [("time", "8시"), ("number", "두"), ("money", "4만2천원")]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("새 이불 덮었어", "money"),  # 이불 is a blanket, not 2 dollars
        ("사랑은 영원해", "money"),  # 영원 is forever, not 0 won
        ("불만만 말해", "money"),  # 불만 is a complaint, not $10,000
        ("운동화 신을까 구두 신을까", "number"),  # 구두 (shoes) is no 9 and 2
        ("이 몸쓸 놈", "number"),  # 이 is "this"
        ("일만 하다 지쳤어", "number"),  # only work, not 10,000
        ("이별4주년", "duration"),  # a 4th anniversary, not four weeks
    ],
)
def test_words_that_look_like_values_are_not(text: str, kind: str) -> None:
    assert found(text, kind) == []


def test_numbers_kiwi_did_not_know_as_numbers() -> None:
    assert found("만이천삼백사십오", "number") == [("만이천삼백사십오", 12345)]  # one NNG token to Kiwi
    assert found("만불", "money") == [("만불", {"amount": 10000, "currency": "USD"})]
    assert found("열한은", "number") == [("열한", 11)]
