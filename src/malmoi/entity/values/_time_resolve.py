"""A time frame (the slots one expression filled) and its resolution against the reference time.

Conventions, most of them Duckling's:

- A date without a year is its next occurrence ("2월 15일" said in March is next year's); a
  weekday alone is the next one after today ("화요일" said on a Tuesday is a week on).
- An hour 1-12 without 오전/오후 reads as people say it: 1-6 in the afternoon, 7-11 in the
  morning ("3시에 보자" is 15:00); with no date, the next such moment that has not passed.
- A part of the day alone is an interval (저녁 18-24 h); with an hour it is a point ("저녁 8시"
  20:00, "밤 11시" 23:00, "밤 1시" 01:00 the night after, "새벽 2시" 02:00).
- Intervals are half-open: ``to`` is the moment the interval is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from malmoi.entity.values import _calendar as cal
from malmoi.entity.values._lexicon import PARTS_OF_DAY


@dataclass(frozen=True)
class When:
    """A resolved time: a point (``end is None``) of the given grain, or the interval [start, end)."""

    start: datetime
    grain: str
    end: datetime | None = None
    onward: bool = False  # from ``start`` on, with no end (몇 시간 이후)

    def over(self) -> datetime:
        """The moment this time is over: the end of an interval, or the point plus its grain."""
        return self.end if self.end is not None else cal.add_grain(self.start, 1, self.grain)


@dataclass
class Frame:
    """The slots that one time expression filled, coarsest first. ``None`` is "not said"."""

    year: int | None = None
    year_offset: int | None = None  # 내년 → 1
    quarter: int | None = None
    quarter_offset: int | None = None  # 다음 분기 → 1
    month: int | None = None
    month_mod: int | None = None  # 다음 3월 → 1
    month_offset: int | None = None  # 다음 달 → 1
    season: str | None = None
    season_offset: int | None = None
    week: int | None = None  # 이번 주 → 0, 다음 주 → 1
    nth_week: int | None = None  # 첫째 주 → 1, 마지막 주 → -1
    weekend: bool | None = None
    day: int | None = None
    last_day: bool | None = None
    relday: int | None = None  # 내일 → 1
    holiday: str | None = None
    weekday: int | None = None
    weekday_mod: int | None = None  # 다음 화요일 → 1, 지난 일요일 → -1
    nth: int | None = None  # the nth weekday of a month (with ``weekday``)
    pod: str | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    ampm: str | None = None
    tz: float | None = None
    fixed: When | None = None  # a time read whole (지금, 3일 후): nothing else combines with it
    rank: float = field(default=-1.0, compare=False)

    def take(self, rank: float, **slots: object) -> bool:
        """Fill ``slots`` if none is filled yet and they come after what was read: Korean says
        times coarsest first (2014년 7월 18일 금요일 오후 7시)."""
        if self.fixed is not None or rank <= self.rank or any(getattr(self, k) is not None for k in slots):
            return False
        for key, value in slots.items():
            setattr(self, key, value)
        self.rank = rank
        return True

    def empty(self) -> bool:
        return self.rank < 0 and self.fixed is None  # every slot is filled through take()

    def has_date(self) -> bool:
        return any(getattr(self, k) is not None for k in _DATE_SLOTS)


_DATE_SLOTS = ("year", "year_offset", "quarter", "quarter_offset", "month", "month_mod", "month_offset",
               "season", "week", "nth_week", "weekend", "day", "last_day", "relday", "holiday", "weekday")
_CLOCK_SLOTS = ("hour", "minute", "second", "ampm", "pod")


def inherit(right: Frame, left: Frame) -> None:
    """Give the second time of a range what it leaves to the first ("7월 13일 - 15일", "목요일
    9:30 ~ 11:00", "오후 1시부터 4시까지")."""
    if not right.has_date():
        for key in _DATE_SLOTS:
            setattr(right, key, getattr(left, key))
        right.weekday_mod, right.nth = left.weekday_mod, left.nth
    elif right.day is not None and right.month is None and right.month_offset is None:
        right.year, right.year_offset = left.year, left.year_offset
        right.month, right.month_mod, right.month_offset = left.month, left.month_mod, left.month_offset
    elif right.month is not None and right.year is None and right.year_offset is None:
        right.year, right.year_offset = left.year, left.year_offset
    if right.hour is not None and right.pod is None and right.ampm is None:
        right.pod = left.pod if left.pod in ("오전", "오후", "저녁", "밤") else None


def resolve(frame: Frame, now: datetime) -> When | None:
    """The time ``frame`` names, said at ``now``; None where it names none (30일 in February)."""
    if frame.fixed is not None:
        return frame.fixed
    if frame.tz is not None:
        zone = timezone(timedelta(hours=frame.tz))
        frame.tz, tzinfo = None, now.tzinfo
        there = resolve(frame, now.astimezone(zone))
        if there is None:
            return None
        grain = there.grain if there.grain in ("minute", "second") else "minute"
        return When(there.start.astimezone(tzinfo), grain)
    try:
        return _resolve(frame, now)
    except (ValueError, OverflowError):  # a date that does not exist: 2월 30일, 13월, year 10000
        return None


def _resolve(f: Frame, now: datetime) -> When | None:
    today = cal.truncate(now, "day")
    if f.holiday is not None:
        return _on_day(f, now, _holiday(f, today))
    if f.season is not None:
        start, end = cal.season(f.season, today.date(), f.season_offset or 0)
        return When(_at(today, start), "day", _at(today, end))
    if f.weekend:
        monday = cal.truncate(now, "week") + timedelta(weeks=f.week or 0)
        return When(monday + timedelta(days=4, hours=18), "hour", monday + timedelta(days=7))
    day: datetime | None = None
    if f.relday is not None:
        day = today + timedelta(days=f.relday)
    elif f.week is not None and f.nth_week is None:
        monday = cal.truncate(now, "week") + timedelta(weeks=f.week)
        if f.weekday is None:
            return When(monday, "week")
        day = monday + timedelta(days=f.weekday)
    elif f.weekday is not None and f.nth is None and f.day is None and f.month is None:
        day = _weekday(f.weekday, f.weekday_mod, today)
    elif any(getattr(f, k) is not None for k in ("year", "year_offset", "quarter", "quarter_offset", "month",
                                                 "month_offset", "day", "last_day", "nth_week")):
        found = _calendar_date(f, now, today)
        if found is None or isinstance(found, When):
            return found
        day = found
    return _on_day(f, now, day)


def _at(today: datetime, when: date) -> datetime:
    return today.replace(year=when.year, month=when.month, day=when.day)


def _holiday(f: Frame, today: datetime) -> datetime | None:
    assert f.holiday is not None
    year = f.year if f.year is not None else today.year + (f.year_offset or 0)
    found = cal.holiday(f.holiday, year)
    if found is not None and f.year is None and f.year_offset is None and found < today.date():
        found = cal.holiday(f.holiday, year + 1)
    return _at(today, found) if found is not None else None


def _weekday(weekday: int, mod: int | None, today: datetime) -> datetime:
    if mod is not None and mod < 0:  # 지난 일요일: the last one before today
        back = (today.weekday() - weekday) % 7 or 7
        return today - timedelta(days=back + 7 * (-mod - 1))
    if mod == 0:  # 이번 금요일: this week's
        return today + timedelta(days=weekday - today.weekday())
    ahead = (weekday - today.weekday()) % 7 or 7  # 화요일 / 다음 화요일: the next one after today
    return today + timedelta(days=ahead + 7 * max(0, (mod or 1) - 1))


def _calendar_date(f: Frame, now: datetime, today: datetime) -> datetime | When | None:
    """Dates said by year, quarter, month and day (and their relative forms)."""
    year_said = f.year is not None or f.year_offset is not None
    year = f.year if f.year is not None else today.year + (f.year_offset or 0)
    if f.quarter is not None or f.quarter_offset is not None:
        if f.quarter is not None:
            start = today.replace(year=year, month=3 * (f.quarter - 1) + 1, day=1)
        else:
            start = cal.add_months(cal.truncate(now, "quarter"), 3 * (f.quarter_offset or 0))
        return When(start, "quarter")
    month = f.month
    if f.month_offset is not None:
        moved = cal.add_months(today.replace(day=1), f.month_offset)
        year, month, year_said = moved.year, moved.month, True
    month_said = month is not None
    if month is None:
        if f.day is None and f.last_day is None and f.nth_week is None:
            return When(today.replace(year=year, month=1, day=1), "year")
        month = today.month
    if f.month_mod is not None and not year_said:  # 다음 3월: the next March after this month
        if month <= today.month:
            year += 1
    elif month_said and not year_said and month < today.month:
        year += 1
    first = today.replace(year=year, month=month, day=1)
    if f.nth_week is not None:
        monday = cal.nth_week(year, month, f.nth_week)
        return When(_at(today, monday), "week") if monday else None
    if f.nth is not None and f.weekday is not None:
        found = cal.nth_weekday(year, month, f.weekday, f.nth)
        return _at(today, found) if found else None
    if f.last_day:
        return first.replace(day=cal.days_in_month(year, month))
    if f.day is None:
        return When(first, "month")
    day = first.replace(day=f.day)
    if day < today and not year_said:  # a date already past: the next one
        if month_said:
            day = day.replace(year=year + 1)
        else:
            moved = cal.add_months(first, 1)
            day = moved.replace(day=f.day)
    return day


def _on_day(f: Frame, now: datetime, day: datetime | None) -> When | None:
    """Add the time of day to a date (or to the next fitting day, if none was said)."""
    if f.hour is None:
        if f.pod is not None:
            start_hour, end_hour = PARTS_OF_DAY[f.pod]
            base = day if day is not None else cal.truncate(now, "day")
            start, end = base + timedelta(hours=start_hour), base + timedelta(hours=end_hour)
            if day is None and end <= now:
                start, end = start + timedelta(days=1), end + timedelta(days=1)
            return When(start, "hour", end)
        return When(day, "day") if day is not None else None
    grain = "second" if f.second is not None else "minute" if f.minute is not None else "hour"
    readings = _hours(f.hour, f.pod, f.ampm)
    if not readings:
        return None
    after = timedelta(minutes=f.minute or 0, seconds=f.second or 0)
    if day is not None:
        hour, next_day = readings[0]
        return When(day + timedelta(days=next_day, hours=hour) + after, grain)
    today = cal.truncate(now, "day")
    for hour, _ in readings:  # the first reading still ahead today ...
        moment = today + timedelta(hours=hour) + after
        if moment >= cal.truncate(now, grain):
            return When(moment, grain)
    hour, _ = readings[0]  # ... else tomorrow's
    return When(today + timedelta(days=1, hours=hour) + after, grain)


def _hours(hour: int, pod: str | None, ampm: str | None) -> list[tuple[int, int]]:
    """The 24-hour readings of an hour as said, best first: (hour, days after the date)."""
    if hour > 24:
        return []
    if hour > 12:
        return [(hour % 24, hour // 24)] if pod in (None, "오후", "저녁", "밤", "낮") and ampm != "am" else []
    half = hour % 12
    if ampm == "am" or pod in ("오전", "아침", "새벽"):
        return [(half, 0)]
    if ampm == "pm" or pod == "오후":
        return [(half + 12, 0)]
    if pod == "저녁":
        return [(half + 12, 0)] if hour != 12 else [(0, 1)]
    if pod == "밤":  # 밤 11시 23:00; 밤 12시 midnight; 밤 1-5시 the small hours after it
        if hour == 12:
            return [(0, 1)]
        return [(hour, 1)] if hour <= 5 else [(half + 12, 0)]
    if pod == "낮":
        return [(half + 12, 0)] if hour <= 6 or hour == 12 else [(hour, 0)]
    if pod == "점심":
        return [(half + 12, 0)] if hour <= 2 or hour == 12 else [(hour, 0)]
    if hour == 0:
        return [(0, 0)]
    if hour == 12:
        return [(12, 0), (0, 1)]
    if hour <= 6:
        return [(hour + 12, 0), (hour, 0)]
    return [(hour, 0), (hour + 12, 0)]
