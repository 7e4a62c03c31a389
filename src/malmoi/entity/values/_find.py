"""find_values: every system value of the asked kinds in a text, resolved."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from malmoi.entity.values._contacts import CONTACT_FINDERS
from malmoi.entity.values._lexer import Atom, lex, might_hold_values
from malmoi.entity.values._numbers import compose, find_durations, find_money, find_numbers, find_ordinals
from malmoi.entity.values._time import find_times
from malmoi.entity.values._value import SYSTEM_KINDS, Value
from malmoi.text.tokenize import Token, get_tokenizer

Found = tuple[int, int, object, str | None]  # first item, one past the last, resolved, grain


def _untimed(finder: Callable[[Sequence[Atom]], list[tuple[int, int, object]]]) -> Callable[..., list[Found]]:
    def find(items: Sequence[Atom], now: datetime) -> list[Found]:
        return [(i, j, resolved, None) for i, j, resolved in finder(items)]

    return find


_GRAMMAR: dict[str, Callable[[Sequence[Atom], datetime], list[Found]]] = {
    "time": find_times,
    "money": _untimed(find_money),
    "duration": _untimed(find_durations),
    "ordinal": _untimed(find_ordinals),
    "number": _untimed(find_numbers),
}
# Where two values overlap, the longer wins; at equal length, the kind listed first here
# ("3일": the 3rd rather than three days; "8시" is a time, not the number 8).
PRIORITY = {kind: rank for rank, kind in enumerate(["email", "url", "phone", "time", "money", "duration",
                                                     "ordinal", "number"])}


def check_kinds(kinds: Iterable[str]) -> list[str]:
    """The kinds, in order, without repeats; a ValueError names an unknown one."""
    wanted = list(dict.fromkeys(kinds))
    unknown = [k for k in wanted if k not in SYSTEM_KINDS]
    if unknown:
        raise ValueError(f"unknown system entity kind {unknown[0]!r}; the kinds are {', '.join(SYSTEM_KINDS)}")
    return wanted


def find_values(
    text: str, kinds: Iterable[str], *, now: datetime, tokens: Sequence[Token] | None = None
) -> list[Value]:
    """The values of ``kinds`` in ``text``, resolved relative to ``now``, in text order.

    Args:
        text: the utterance (its normalized form, if ``tokens`` are of that).
        kinds: any of :data:`SYSTEM_KINDS`.
        now: the reference time, with its time zone (``datetime.now(ZoneInfo("Asia/Seoul"))``):
            times resolve in that zone and carry its UTC offset.
        tokens: Kiwi's tokens of ``text``, when the caller has them; else ``text`` is tokenized
            here (only if it may hold a value at all).

    Values do not overlap: where two would, the longer wins, then the kind first in
    :data:`PRIORITY`. Particles stay outside a value ("8시에" gives "8시").

    >>> from datetime import datetime; from zoneinfo import ZoneInfo
    >>> now = datetime(2024, 5, 15, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    >>> [(v.text, v.resolved, v.grain) for v in find_values("목요일 저녁 8시에 두 명", ["time", "number"], now=now)]
    [('목요일 저녁 8시', '2024-05-16T20:00:00+09:00', 'hour'), ('두', 2, None)]
    """
    wanted = check_kinds(kinds)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` needs a time zone (for example datetime.now(ZoneInfo('Asia/Seoul')))")
    found: list[tuple[int, int, str, object, str | None]] = []
    grammar = [k for k in wanted if k in _GRAMMAR]
    if grammar and text and might_hold_values(text):
        if tokens is None:
            tokens = get_tokenizer("ko").tokenize(text)
        items = compose(lex(text, tokens))
        if items:
            for kind in grammar:
                for i, j, resolved, grain in _GRAMMAR[kind](items, now):
                    found.append((items[i].start, items[j - 1].end, kind, resolved, grain))
    for kind in wanted:
        if kind in CONTACT_FINDERS:
            found.extend((start, end, kind, normal, None) for start, end, normal in CONTACT_FINDERS[kind](text))
    return _without_overlaps(text, found)


def _without_overlaps(text: str, found: list[tuple[int, int, str, object, str | None]]) -> list[Value]:
    found.sort(key=lambda f: (f[0] - f[1], PRIORITY[f[2]], f[0]))
    taken: list[tuple[int, int]] = []
    kept: list[Value] = []
    for start, end, kind, resolved, grain in found:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        kept.append(Value(kind, start, end, text[start:end], resolved, grain))
    kept.sort(key=lambda v: v.start)
    return kept
