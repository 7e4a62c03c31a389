"""Calendar arithmetic for the time grammar: grains, months, nth weekdays, holidays, seasons.

All arithmetic is on wall-clock time in the zone of the reference time (``now.tzinfo``):
"내일" is the next calendar day there, whatever the UTC offset does in between.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from malmoi.entity.values._lexicon import HOLIDAYS, SEASONS

_UNIT_GRAIN = {"년": "year", "개월": "month", "달": "month", "주": "week", "주일": "week", "일": "day",
               "시간": "hour", "분": "minute", "초": "second"}
# The grain of a time reached by moving a duration: one finer than the duration's unit, as
# Duckling has it ("7일 전" → that day, at this hour; "3년 안에" → that month).
_RELATIVE_GRAIN = {"year": "month", "month": "day", "week": "day", "day": "hour", "hour": "minute",
                   "minute": "second", "second": "second"}

# Lunar holidays by solar date (Korea Astronomy and Space Science Institute's calendar, through
# korean-lunar-calendar 0.4.0): year, then 설날, 석가탄신일, 추석 as MMDD.
_LUNAR_TABLE = (
    '2000 0205 0511 0912 2001 0124 0501 1001 2002 0212 0519 0921 2003 0201 0508 0911 '
    '2004 0122 0526 0928 2005 0209 0515 0918 2006 0129 0505 1006 2007 0218 0524 0925 '
    '2008 0207 0512 0914 2009 0126 0502 1003 2010 0214 0521 0922 2011 0203 0510 0912 '
    '2012 0123 0528 0930 2013 0210 0517 0919 2014 0131 0506 0908 2015 0219 0525 0927 '
    '2016 0208 0514 0915 2017 0128 0503 1004 2018 0216 0522 0924 2019 0205 0512 0913 '
    '2020 0125 0430 1001 2021 0212 0519 0921 2022 0201 0508 0910 2023 0122 0527 0929 '
    '2024 0210 0515 0917 2025 0129 0505 1006 2026 0217 0524 0925 2027 0207 0513 0915 '
    '2028 0127 0502 1003 2029 0213 0520 0922 2030 0203 0509 0912 2031 0123 0528 1001 '
    '2032 0211 0516 0919 2033 0131 0506 0908 2034 0219 0525 0927 2035 0208 0515 0916 '
    '2036 0128 0503 1004 2037 0215 0522 0924 2038 0204 0511 0913 2039 0124 0430 1002 '
    '2040 0212 0518 0921 2041 0201 0507 0910 2042 0122 0526 0928 2043 0210 0516 0917 '
    '2044 0130 0505 1005 2045 0217 0524 0925 2046 0206 0513 0915 2047 0126 0502 1004 '
    '2048 0214 0520 0922 2049 0202 0509 0911 2050 0123 0528 0930 '
)
_LUNAR_KEYS = ("seollal", "buddha", "chuseok")


def _lunar() -> dict[tuple[str, int], tuple[int, int]]:
    words = "".join(_LUNAR_TABLE).split()
    table: dict[tuple[str, int], tuple[int, int]] = {}
    for k in range(0, len(words), 4):
        year = int(words[k])
        for key, mmdd in zip(_LUNAR_KEYS, words[k + 1 : k + 4]):
            table[(key, year)] = (int(mmdd[:2]), int(mmdd[2:]))
    return table


LUNAR_HOLIDAYS = _lunar()


def unit_grain(unit: str) -> str:
    return _UNIT_GRAIN[unit]


def relative_grain(unit: str) -> str:
    return _RELATIVE_GRAIN[_UNIT_GRAIN[unit]]


def truncate(moment: datetime, grain: str) -> datetime:
    """The start of the ``grain`` that holds ``moment`` (its week starts on Monday)."""
    if grain == "second":
        return moment.replace(microsecond=0)
    if grain == "minute":
        return moment.replace(second=0, microsecond=0)
    if grain == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole months, its day clamped to the month's length (1/31 + 1 → 2/28)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def add_grain(moment: datetime, count: int, grain: str) -> datetime:
    if grain == "year":
        return add_months(moment, 12 * count)
    if grain == "quarter":
        return add_months(moment, 3 * count)
    if grain == "month":
        return add_months(moment, count)
    seconds = {"week": 604_800, "day": 86_400, "hour": 3600, "minute": 60, "second": 1}[grain]
    if grain in ("week", "day"):
        return moment + timedelta(days=count * seconds // 86_400)
    return moment + timedelta(seconds=count * seconds)


def shift(moment: datetime, parts: tuple[tuple[float, str], ...], sign: int) -> datetime:
    """``moment`` moved by a duration said in parts ((3, "년"), (0.5, "시간") ...)."""
    for amount, unit in parts:
        grain = _UNIT_GRAIN[unit]
        whole = int(amount)
        rest = amount - whole
        if grain in ("year", "month"):
            months = whole * (12 if grain == "year" else 1)
            moment = add_months(moment, sign * months)
            if rest:  # half a year is six months; half a month fifteen days
                moment = (add_months(moment, sign * round(rest * 12)) if grain == "year"
                          else moment + timedelta(days=sign * rest * 30))
        else:
            seconds = {"week": 604_800, "day": 86_400, "hour": 3600, "minute": 60, "second": 1}[grain]
            if grain in ("week", "day") and not rest:
                moment = moment + timedelta(days=sign * whole * seconds // 86_400)
            else:
                moment = moment + timedelta(seconds=sign * amount * seconds)
    return moment


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The ``nth`` given weekday of a month (``nth=-1``: the last one), or None."""
    if nth > 0:
        first = date(year, month, 1)
        day = 1 + (weekday - first.weekday()) % 7 + 7 * (nth - 1)
    else:
        last = date(year, month, days_in_month(year, month))
        day = last.day - (last.weekday() - weekday) % 7
    return date(year, month, day) if 1 <= day <= days_in_month(year, month) else None


def nth_week(year: int, month: int, nth: int) -> date | None:
    """The Monday of the ``nth`` week lying wholly in a month (``nth=-1``: the last one)."""
    monday = nth_weekday(year, month, 0, 1)
    assert monday is not None
    mondays = []
    while monday.month == month and monday.day + 6 <= days_in_month(year, month):
        mondays.append(monday)
        monday += timedelta(days=7)
    if nth > 0:
        return mondays[nth - 1] if nth <= len(mondays) else None
    return mondays[-1] if mondays else None


def holiday(name: str, year: int) -> date | None:
    """The date of a holiday in a year; None for a lunar one outside the table."""
    spec = HOLIDAYS[name]
    if isinstance(spec, tuple):
        return date(year, *spec)
    found = LUNAR_HOLIDAYS.get((spec, year))
    return date(year, *found) if found else None


def season(name: str, today: date, offset: int) -> tuple[date, date]:
    """A season's first day and the day after its last: the one not yet over (offset 0), the
    one after it (+1), or the last one over (-1)."""
    (start_month, start_day), (end_month, end_day) = SEASONS[name]
    spans = []
    for year in range(today.year - 2, today.year + 3):
        end_year = year + 1 if end_month < start_month else year
        spans.append((date(year, start_month, start_day), date(end_year, end_month, end_day)))
    current = next(k for k, (_, end) in enumerate(spans) if end > today)
    return spans[current + offset]
