"""sys.time: Korean dates and times resolved relative to a reference time, in its zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from malmoi.entity.values import find_values

SEOUL = ZoneInfo("Asia/Seoul")
# Wednesday 2024-05-15, 10:00 in Seoul: the reference ("목요일" is the next day).
NOW = datetime(2024, 5, 15, 10, 0, tzinfo=SEOUL)


def times(text: str, now: datetime = NOW) -> list[tuple[str, object, str | None]]:
    return [(v.text, v.resolved, v.grain) for v in find_values(text, ["time"], now=now)]


def one(text: str, now: datetime = NOW) -> tuple[object, str | None]:
    found = times(text, now)
    assert len(found) == 1, found
    return found[0][1], found[0][2]


@pytest.mark.parametrize(
    ("text", "resolved", "grain"),
    [
        ("목요일", "2024-05-16T00:00:00+09:00", "day"),
        ("목요일 저녁 8시", "2024-05-16T20:00:00+09:00", "hour"),
        ("목요일 저녁 여덟 시", "2024-05-16T20:00:00+09:00", "hour"),
        ("오늘", "2024-05-15T00:00:00+09:00", "day"),
        ("내일", "2024-05-16T00:00:00+09:00", "day"),
        ("모레", "2024-05-17T00:00:00+09:00", "day"),
        ("글피", "2024-05-18T00:00:00+09:00", "day"),
        ("어제", "2024-05-14T00:00:00+09:00", "day"),
        ("그저께", "2024-05-13T00:00:00+09:00", "day"),
        ("다음 주 금요일", "2024-05-24T00:00:00+09:00", "day"),
        ("다음주 금요일", "2024-05-24T00:00:00+09:00", "day"),
        ("지난주 금요일", "2024-05-10T00:00:00+09:00", "day"),
        ("다음 주", "2024-05-20T00:00:00+09:00", "week"),
        ("다음달", "2024-06-01T00:00:00+09:00", "month"),
        ("다음 달", "2024-06-01T00:00:00+09:00", "month"),
        ("다음 달 3일", "2024-06-03T00:00:00+09:00", "day"),
        ("12월 25일", "2024-12-25T00:00:00+09:00", "day"),
        ("3월 1일", "2025-03-01T00:00:00+09:00", "day"),  # past this year: next year's
        ("2025년 3월", "2025-03-01T00:00:00+09:00", "month"),
        ("오후 두 시 반", "2024-05-15T14:30:00+09:00", "minute"),
        ("오후두시반", "2024-05-15T14:30:00+09:00", "minute"),
        ("3시에 보자", "2024-05-15T15:00:00+09:00", "hour"),  # 1-6 without 오전/오후: afternoon
        ("8시", "2024-05-15T20:00:00+09:00", "hour"),  # 8:00 has passed at 10:00: tonight's
        ("내일 8시", "2024-05-16T08:00:00+09:00", "hour"),
        ("저녁 7시", "2024-05-15T19:00:00+09:00", "hour"),
        ("밤 11시", "2024-05-15T23:00:00+09:00", "hour"),  # night hours are evening hours ...
        ("밤 1시", "2024-05-16T01:00:00+09:00", "hour"),  # ... or the small hours after them
        ("오늘 밤 12시", "2024-05-16T00:00:00+09:00", "hour"),
        ("새벽 2시", "2024-05-16T02:00:00+09:00", "hour"),
        ("15:20", "2024-05-15T15:20:00+09:00", "minute"),
        ("10분 뒤", "2024-05-15T10:10:00+09:00", "second"),
        ("10분 후", "2024-05-15T10:10:00+09:00", "second"),
        ("3시간 전", "2024-05-15T07:00:00+09:00", "minute"),
        ("나흘 뒤", "2024-05-19T10:00:00+09:00", "hour"),
        ("사흘 뒤", "2024-05-18T10:00:00+09:00", "hour"),
        ("한 시간 반 안에", "2024-05-15T11:30:00+09:00", "second"),
        ("추석", "2024-09-17T00:00:00+09:00", "day"),  # lunar: 2024's Chuseok
        ("설날", "2025-01-29T00:00:00+09:00", "day"),  # 2024's (02-10) is past
        ("크리스마스", "2024-12-25T00:00:00+09:00", "day"),
        ("지금", "2024-05-15T10:00:00+09:00", "second"),
    ],
)
def test_time_resolves(text: str, resolved: str, grain: str) -> None:
    assert one(text) == (resolved, grain)


@pytest.mark.parametrize(
    ("text", "resolved", "grain"),
    [
        ("1시부터 4시까지", {"from": "2024-05-15T13:00:00+09:00", "to": "2024-05-15T16:00:00+09:00"}, "hour"),
        ("다음 주말", {"from": "2024-05-24T18:00:00+09:00", "to": "2024-05-27T00:00:00+09:00"}, "hour"),
        ("이번 주말", {"from": "2024-05-17T18:00:00+09:00", "to": "2024-05-20T00:00:00+09:00"}, "hour"),
        ("오늘 저녁", {"from": "2024-05-15T18:00:00+09:00", "to": "2024-05-16T00:00:00+09:00"}, "hour"),
        # a day named as an end is over at the next midnight
        ("7월 13일부터 15일까지", {"from": "2024-07-13T00:00:00+09:00", "to": "2024-07-16T00:00:00+09:00"}, "day"),
        ("오후 2시까지", {"from": "2024-05-15T10:00:00+09:00", "to": "2024-05-15T14:00:00+09:00"}, "second"),
        ("11:30-1:30", {"from": "2024-05-15T11:30:00+09:00", "to": "2024-05-15T13:30:00+09:00"}, "minute"),
        ("오후 2시 이후", {"from": "2024-05-15T14:00:00+09:00"}, "hour"),
        ("오전 11시 전", {"to": "2024-05-15T11:00:00+09:00"}, "hour"),
        ("지난 2주", {"from": "2024-04-29T00:00:00+09:00", "to": "2024-05-13T00:00:00+09:00"}, "week"),
    ],
)
def test_time_intervals(text: str, resolved: dict[str, str], grain: str) -> None:
    assert one(text) == (resolved, grain)


@pytest.mark.parametrize(("text", "span"), [("8시에", "8시"), ("금요일에", "금요일"), ("다음 주말에는", "다음 주말"),
                                            ("내일 부산 날씨 알려줘", "내일"), ("3월에", "3월")])
def test_particles_stay_outside_the_span(text: str, span: str) -> None:
    assert [t for t, _, _ in times(text)] == [span]


def test_spaced_and_unspaced_forms_agree() -> None:
    for spaced_form, unspaced in [("다음 주 금요일", "다음주금요일"), ("오후 두 시 반", "오후두시반"),
                                  ("다음 달 3일", "다음달 3일"), ("이번 주말", "이번주말")]:
        assert one(spaced_form)[0] == one(unspaced)[0]


def test_offset_is_the_reference_times_own_and_follows_daylight_saving() -> None:
    # New York moves its clocks on 2024-03-10: the day after has another offset.
    new_york = datetime(2024, 3, 9, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    assert one("내일", new_york)[0] == "2024-03-10T00:00:00-05:00"
    assert one("모레", new_york)[0] == "2024-03-11T00:00:00-04:00"
    fixed = datetime(2013, 2, 12, 4, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert one("내일", fixed)[0] == "2013-02-13T00:00:00-02:00"


@pytest.mark.parametrize(
    "text", ["사람 두 명", "세 시간", "몇 시에 만날까", "시설 어디 있어", "2월 30일", "전주 날씨 어때"]
)
def test_what_is_no_time(text: str) -> None:
    assert times(text) == []
