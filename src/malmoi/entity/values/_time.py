"""The time grammar: atoms → frames → resolved times.

One expression is a run of *parts* (:data:`PARTS`), each a small reader that recognises a few
atoms (NUMBER + 월, 다음 + 주, 저녁, 15:20 ...) and fills slots of a :class:`Frame`; a part that
would refill a slot, or come before a coarser one, ends the expression. Then two expressions
may make a range ("1시부터 4시까지", "7월 13일 - 15일"), and one may be bounded ("오후 2시까지",
"오후2시 이후", "오전11시 전"). Relative times are parts that stand alone: a duration with a
direction ("나흘 뒤", "10분 후", "3주 전", "1시간 안에") or "지난/다음 N 단위".

Adding a way to say a time is adding a reader to :data:`PARTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from malmoi.entity.values import _calendar as cal
from malmoi.entity.values._lexer import ATTACHED, BROKEN, Atom
from malmoi.entity.values._lexicon import (
    AMPM,
    APPROX,
    CLOCK,
    DATE,
    DAYNOUN,
    DIR,
    DURING,
    FIRST,
    FROM,
    HALF,
    HOLIDAY,
    MOD,
    MONTHNAME,
    NOON,
    NOW,
    NTH,
    ORD,
    POD,
    RANGE,
    REL,
    RELDAY,
    SEASON,
    SLASH,
    TZ,
    UNIT,
    UNTIL,
    WEEKDAY,
    WEEKEND,
)
from malmoi.entity.values._numbers import num_of, read_duration
from malmoi.entity.values._time_resolve import Frame, When, inherit, resolve
from malmoi.entity.values._value import finer

Items = Sequence[Atom]
Reader = Callable[[Items, int, Frame, datetime], "int | None"]


def _linked(items: Items, i: int) -> Atom | None:
    """Item ``i`` if it continues the expression (no break before it), else None."""
    return items[i] if i < len(items) and items[i].link != BROKEN else None


def _number_unit(items: Items, i: int, unit: str, low: int, high: int) -> int | None:
    """The value of NUMBER + ``unit`` at ``i`` (2015년, 세 시) if it is a whole number in range."""
    num = num_of(items[i])
    nxt = _linked(items, i + 1)
    if num is None or num.few or nxt is None or nxt.get(UNIT) != unit:
        return None
    value = num.value
    return value if isinstance(value, int) and low <= value <= high else None


def _ordinal_at(items: Items, i: int) -> tuple[int, int] | None:
    """첫째, 두번째, 마지막 ... at ``i``: (n, end); -1 for the last."""
    nth = items[i].get(NTH)
    if isinstance(nth, int) and not isinstance(nth, bool):
        return nth, i + 1
    nxt = _linked(items, i + 1)
    if nxt is not None and nxt.has(ORD):
        if items[i].has(FIRST):
            return 1, i + 2
        num = num_of(items[i])
        if num is not None and isinstance(num.value, int) and 0 < num.value <= 5:
            return num.value, i + 2
    return None


def _continues_as_duration(items: Items, j: int) -> bool:
    nxt = _linked(items, j)
    return nxt is not None and (nxt.has(DURING) or nxt.has(DIR))


# -- parts -----------------------------------------------------------------------------------


def _now(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    if items[i].has(NOW) and f.empty():
        f.fixed = When(cal.truncate(now, "second"), "second")
        return i + 1
    return None


def _relative(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    """A duration and a direction: 나흘 뒤, 10분 후, 3주 전, 1시간 안에, 2주 이내, 몇 시간 이후."""
    if not f.empty():
        return None
    read = read_duration(items, i, few=True)
    if read is None:
        return None
    duration, j = read
    marker = _linked(items, j)
    direction = marker.get(DIR) if marker is not None else None
    if not isinstance(direction, str):
        return None
    sign = -1 if direction == "before" else 1
    grain = cal.relative_grain(duration.finest)
    moment = cal.truncate(cal.shift(now, duration.parts, sign), grain)
    if direction == "since":  # 몇 시간 이후: from then on
        f.fixed = When(moment, grain, onward=True)
    elif direction == "within_interval":  # 2주 이내: from now until then
        f.fixed = When(cal.truncate(now, "second"), "second", moment)
    else:
        f.fixed = When(moment, grain)
    return j + 1


def _last_next(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    """지난 2주, 다음 3시간: that many whole units before or after the current one."""
    offset = items[i].get(MOD)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset == 0 or not f.empty():
        return None
    if _linked(items, i + 1) is None:
        return None
    read = read_duration(items, i + 1)
    if read is None or len(read[0].parts) != 1 or read[0].parts[0][0] != int(read[0].parts[0][0]):
        return None
    (count, unit), j = read[0].parts[0], read[1]
    grain = cal.unit_grain(unit)
    base = cal.truncate(now, grain)
    if offset > 0:
        f.fixed = When(cal.add_grain(base, 1, grain), grain, cal.add_grain(base, int(count) + 1, grain))
    else:
        f.fixed = When(cal.add_grain(base, -int(count), grain), grain, base)
    return j


def _ascii_date(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    full, pair = items[i].get(DATE), items[i].get(SLASH)
    if isinstance(full, tuple):
        year, month, day = full
        if year < 100:
            year += 2000 if year < 50 else 1900
        ok = 1 <= month <= 12 and 1 <= day <= 31 and f.take(3, year=year, month=month, day=day)
        return i + 1 if ok else None
    if isinstance(pair, tuple):
        month, day = pair
        return i + 1 if 1 <= month <= 12 and 1 <= day <= 31 and f.take(3, month=month, day=day) else None
    return None


def _year(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    rel = items[i].get(REL)
    if isinstance(rel, tuple) and rel[0] == "년":
        return i + 1 if f.take(0, year_offset=rel[1]) else None
    year = _number_unit(items, i, "년", 10, 2999)
    if year is None or 100 <= year < 1000 or _continues_as_duration(items, i + 2):
        return None
    if year < 100:
        year += 2000 if year < 50 else 1900
    return i + 2 if f.take(0, year=year) else None


def _quarter(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    quarter = _number_unit(items, i, "분기", 1, 4)
    if quarter is not None:
        return i + 2 if f.take(1, quarter=quarter) else None
    offset = items[i].get(MOD)
    nxt = _linked(items, i + 1)
    if isinstance(offset, int) and nxt is not None and nxt.get(UNIT) == "분기":
        return i + 2 if f.take(1, quarter_offset=offset) else None
    return None


def _month(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    item = items[i]
    rel = item.get(REL)
    if isinstance(rel, tuple) and rel[0] == "달":
        return i + 1 if f.take(1, month_offset=rel[1]) else None
    offset = item.get(MOD)
    start, mod = i, None
    if isinstance(offset, int) and not isinstance(offset, bool) and _linked(items, i + 1) is not None:
        if items[i + 1].get(UNIT) == "달":
            return i + 2 if f.take(1, month_offset=offset) else None
        start, mod = i + 1, offset
    name = items[start].get(MONTHNAME)
    if isinstance(name, int):
        return start + 1 if f.take(1, month=name, month_mod=mod) else None
    month = _number_unit(items, start, "월", 1, 12)
    if month is not None and not _continues_as_duration(items, start + 2):
        return start + 2 if f.take(1, month=month, month_mod=mod) else None
    return None


def _season(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    offset = items[i].get(MOD)
    j = i + 1 if isinstance(offset, int) and not isinstance(offset, bool) else i
    name = items[j].get(SEASON) if j == i or _linked(items, j) is not None else None
    if isinstance(name, str):
        return j + 1 if f.take(1, season=name, season_offset=offset if j > i else 0) else None
    return None


def _week(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    rel = items[i].get(REL)
    if isinstance(rel, tuple) and rel[0] == "주":
        return i + 1 if f.take(2, week=rel[1]) else None
    offset = items[i].get(MOD)
    nxt = _linked(items, i + 1)
    if isinstance(offset, int) and not isinstance(offset, bool) and nxt is not None and nxt.get(UNIT) == "주":
        return i + 2 if f.take(2, week=offset) else None
    ordinal = _ordinal_at(items, i)
    if ordinal is not None:
        unit = _linked(items, ordinal[1])
        if unit is not None and unit.get(UNIT) == "주":
            return ordinal[1] + 1 if f.take(2, nth_week=ordinal[0]) else None
    return None


def _weekend(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    offset = items[i].get(MOD)
    j = i + 1 if isinstance(offset, int) and not isinstance(offset, bool) else i
    if (j == i or _linked(items, j) is not None) and items[j].has(WEEKEND):
        week = offset if j > i else (f.week if f.week is not None else 0)
        f.week = None
        return j + 1 if f.take(3, weekend=True, week=week) else None
    return None


def _nth_day(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    """3월 마지막 월요일, 10월 첫째 화요일, 마지막 날, 첫날."""
    ordinal = _ordinal_at(items, i)
    if ordinal is None:
        return None
    n, j = ordinal
    nxt = _linked(items, j)
    if nxt is None:
        return None
    weekday = nxt.get(WEEKDAY)
    if isinstance(weekday, int) and not isinstance(weekday, bool):
        return j + 1 if f.take(3.5, nth=n, weekday=weekday) else None
    if nxt.has(DAYNOUN) and n in (1, -1):
        ok = f.take(3, day=1) if n == 1 else f.take(3, last_day=True)
        return j + 1 if ok else None
    return None


def _day(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    day = _number_unit(items, i, "일", 1, 31)
    if day is not None and not _continues_as_duration(items, i + 2):
        return i + 2 if f.take(3, day=day) else None
    num = num_of(items[i])
    if (num is not None and num.without_last_il is not None and f.month is not None and f.rank == 1
            and 1 <= num.without_last_il <= 31):
        return i + 1 if f.take(3, day=num.without_last_il) else None  # 삼월 이십일: the 20th
    return None


def _weekday(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    offset = items[i].get(MOD)
    j = i + 1 if isinstance(offset, int) and not isinstance(offset, bool) else i
    weekday = items[j].get(WEEKDAY) if j == i or _linked(items, j) is not None else None
    if isinstance(weekday, int) and not isinstance(weekday, bool):
        return j + 1 if f.take(3.5, weekday=weekday, weekday_mod=offset if j > i else None) else None
    return None


def _relday(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    relday = items[i].get(RELDAY)
    if isinstance(relday, int) and not isinstance(relday, bool):
        return i + 1 if f.take(3, relday=relday) else None
    return None


def _holiday(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    name = items[i].get(HOLIDAY)
    return i + 1 if isinstance(name, str) and f.take(3, holiday=name) else None


def _part_of_day(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    offset = items[i].get(MOD)
    if offset == 0 and _linked(items, i + 1) is not None and items[i + 1].has(POD):  # 이번 아침
        pod = items[i + 1].get(POD)
        return i + 2 if f.relday is None and f.take(4, pod=pod, relday=0) else None
    pod = items[i].get(POD)
    return i + 1 if isinstance(pod, str) and f.take(4, pod=pod) else None


def _noon(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    hour = items[i].get(NOON)
    if isinstance(hour, int) and not isinstance(hour, bool):
        return i + 1 if f.take(5, hour=hour or 24) else None
    return None


def _hour(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    """세 시, 8시 30분, 오후세시이십분, 세시반, 네시십오분전 (3:45), 3PM."""
    num = num_of(items[i])
    ampm = _linked(items, i + 1)
    if num is not None and ampm is not None and ampm.link == ATTACHED and ampm.has(AMPM):
        hour = num.value
        if isinstance(hour, int) and 0 < hour <= 12 and f.take(5, hour=hour, ampm=ampm.get(AMPM)):
            return i + 2
        return None
    said = _number_unit(items, i, "시", 0, 24)
    if said is None:
        return None
    hour, j = said, i + 2
    minute: int | None = None
    second: int | None = None
    if _linked(items, j) is not None and items[j].has(HALF):
        minute, j = 30, j + 1
    else:
        minute = _number_unit(items, j, "분", 0, 59) if _linked(items, j) else None
        if minute is not None:
            j += 2
            second = _number_unit(items, j, "초", 0, 59) if _linked(items, j) else None
            j += 2 if second is not None else 0
    marker = _linked(items, j)
    if minute and marker is not None and marker.get(DIR) == "before":
        hour, minute, j = (hour - 1) % 24, 60 - minute, j + 1  # 네시 십오분 전: a quarter to four
    rank = 7 if second is not None else 6 if minute is not None else 5
    return j if f.take(rank, hour=hour, minute=minute, second=second) else None


def _clock(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    clock = items[i].get(CLOCK)
    if not isinstance(clock, tuple):
        return None
    hour, minute, second = clock
    nxt = _linked(items, i + 1)
    ampm = nxt.get(AMPM) if nxt is not None else None
    if ampm is not None and hour > 12:
        return None
    rank = 7 if second is not None else 6
    if not f.take(rank, hour=hour, minute=minute, second=second, ampm=ampm):
        return None
    return i + 2 if ampm is not None else i + 1


def _zone(items: Items, i: int, f: Frame, now: datetime) -> int | None:
    hours = items[i].get(TZ)
    if isinstance(hours, int) and not isinstance(hours, bool) and f.hour is not None:
        return i + 1 if f.take(8, tz=hours) else None
    return None


# Tried in order at each item; the first that reads something wins. Relative forms come first:
# "5일 후" is five days on, not the 5th.
PARTS: list[Reader] = [
    _now, _relative, _last_next, _ascii_date, _year, _quarter, _month, _season, _week, _weekend,
    _nth_day, _day, _weekday, _relday, _holiday, _part_of_day, _noon, _hour, _clock, _zone,
]

def _read_frame(items: Items, i: int, now: datetime) -> tuple[Frame, int] | None:
    frame = Frame()
    j = i
    if items[j].get(APPROX) == "before" and _linked(items, j + 1) is not None:  # 약 한 시간 반
        j += 1
    while j < len(items) and (j == i or items[j].link != BROKEN):
        for part in PARTS:
            try:
                after = part(items, j, frame, now)
            except (OverflowError, ValueError):  # 다음 조 시간: past the calendar's end
                after = None
            if after is not None:
                j = after
                break
        else:
            break
        if frame.fixed is not None:
            break
    if frame.empty():
        return None
    marker = _linked(items, j)
    if marker is not None and marker.get(APPROX) == "after":  # 3시쯤, 3시경
        j += 1
    return frame, j


def _instant(when: When) -> datetime:
    """Where a range ends at a time: a clock time ends there ("4시까지" is until 4:00), a day or
    longer when it is over ("15일까지" is through the 15th)."""
    if when.end is not None:
        return when.end
    return when.start if when.grain in ("hour", "minute", "second") else when.over()


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def read_time(items: Items, i: int, now: datetime) -> tuple[Any, str, int] | None:
    """The time expression at item ``i``: (resolved, grain, end); None if there is none, and
    resolved None if it names no time."""
    read = _read_frame(items, i, now)
    if read is None:
        return None
    frame, j = read
    left_frame = replace(frame)  # resolve() may change the frame; a range's end inherits from it
    when = resolve(frame, now)
    if when is None:  # a date that does not exist (2월 30일): nothing, and nothing inside it either
        return None, "", j
    marker = _linked(items, j)
    if marker is not None and (marker.has(FROM) or marker.has(RANGE)) and _linked(items, j + 1) is not None:
        right = _read_frame(items, j + 1, now)
        if right is not None and right[0].fixed is None and frame.fixed is None:
            right_frame, k = right
            inherit(right_frame, left_frame)
            end = resolve(right_frame, now)
            if end is not None:
                end = _after(end, when, right_frame)
                k += 1 if _linked(items, k) is not None and items[k].has(UNTIL) else 0
                span = {"from": _iso(when.start), "to": _iso(_instant(end))}
                return span, finer(when.grain, end.grain), k
    if marker is not None and marker.has(UNTIL) and frame.fixed is None:  # 오후 2시까지: from now on until then
        start = cal.truncate(now, "second")
        if _instant(when) > start:
            return {"from": _iso(start), "to": _iso(_instant(when))}, "second", j + 1
    direction = marker.get(DIR) if marker is not None and frame.fixed is None else None
    if direction in ("since", "after"):  # 오후2시 이후
        return {"from": _iso(when.start)}, when.grain, j + 1
    if direction == "before":  # 오전11시 전
        return {"to": _iso(when.start)}, when.grain, j + 1
    if when.onward:
        return {"from": _iso(when.start)}, when.grain, j
    if when.end is not None:
        return {"from": _iso(when.start), "to": _iso(when.end)}, when.grain, j
    return _iso(when.start), when.grain, j


def _after(end: When, start: When, frame: Frame) -> When:
    """Move the end of a range past its start where the words allow it (11:30-1:30 is 13:30)."""
    if end.start >= start.start or (frame.has_date() and frame.relday is None and frame.weekday is None):
        return end
    moved = end
    for hours in (12, 24):
        if (frame.hour is not None and frame.hour <= 12) or hours == 24:
            moved = When(cal.add_grain(end.start, hours, "hour"), end.grain,
                         cal.add_grain(end.end, hours, "hour") if end.end else None)
            if moved.start >= start.start:
                return moved
    return moved


def find_times(items: Items, now: datetime) -> list[tuple[int, int, object, str | None]]:
    out: list[tuple[int, int, object, str | None]] = []
    skip_to = 0
    for i in range(len(items)):
        if i < skip_to:
            continue
        read = read_time(items, i, now)
        if read is None:
            continue
        resolved, grain, j = read
        if resolved is None:
            skip_to = j
        else:
            out.append((i, j, resolved, grain))
    return out

