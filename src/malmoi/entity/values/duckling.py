"""Duckling interop: run embedded Duckling, read its test corpora, speak its values.

Duckling (Facebook, BSD) is the field's standard for system entities; Rasa runs it as a server.
malmoi's own grammar (:func:`malmoi.entity.values.find_values`) is the default because it
resolves more Korean, faster (bench/system_entities.py, docs/entities.md); this module offers
Duckling beside it:

- :class:`EmbeddedDuckling` runs Duckling in-process through ``pyduckling-native-phihos``
  (``pip install 'malmoi[duckling]'``) and answers :class:`~malmoi.entity.values.Value` in
  malmoi's representation, so either can be swapped for the other.
- :func:`read_corpus` reads Duckling's ``*/KO/Corpus.hs`` files, the test suites that
  bench/system_entities.py and tests/entity hold malmoi to.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from malmoi.entity.values._lexicon import DURATION_SECONDS
from malmoi.entity.values._value import GRAIN_RANK, Value

# Duckling's reference time for its corpora: Tuesday 2013-02-12 04:30:00 at UTC-2 (Testing/Types.hs).
CORPUS_NOW = datetime(2013, 2, 12, 4, 30, 0, tzinfo=timezone(timedelta(hours=-2)))
# Corpus file → malmoi kind.
CORPUS_FILES = {"Time": "time", "Numeral": "number", "AmountOfMoney": "money", "Duration": "duration",
                "Ordinal": "ordinal"}
_DIMENSIONS = {"time": "time", "number": "number", "money": "amount-of-money", "duration": "duration",
               "ordinal": "ordinal", "phone": "phone-number", "email": "email", "url": "url"}
# Duckling's units → ISO codes and the factor to that currency's unit.
_CURRENCY = {"Dollar": ("USD", 1), "$": ("USD", 1), "USD": ("USD", 1), "Cent": ("USD", 0.01), "cent": ("USD", 0.01),
             "EUR": ("EUR", 1), "€": ("EUR", 1), "Pound": ("GBP", 1), "£": ("GBP", 1), "GBP": ("GBP", 1),
             "KRW": ("KRW", 1), "₩": ("KRW", 1), "JPY": ("JPY", 1), "¥": ("JPY", 1), "CNY": ("CNY", 1)}
_DURATION_UNIT = {"second": "초", "minute": "분", "hour": "시간", "day": "일", "week": "주", "month": "달",
                  "year": "년"}


@dataclass(frozen=True)
class Case:
    """One corpus text and the value it must resolve to, in malmoi's representation."""

    kind: str
    text: str
    expected: Any
    grain: str | None
    line: int  # in the corpus file


# -- the corpora -----------------------------------------------------------------------------

_EXAMPLES = re.compile(r"examples\s*\((?P<value>.*?)\)\s*\[(?P<texts>[^\]]*)\]", re.S)
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_NUMBER = r"\(?\s*-?\d+(?:\.\d+)?\s*\)?"


def read_corpus(path: Path, now: datetime = CORPUS_NOW) -> list[Case]:
    """The cases of one Duckling ``Corpus.hs`` file, expected values in malmoi's representation.

    Haskell comments (``-- ...``) are dropped, so commented-out cases do not count. Raises
    ValueError naming the line of a value this reader does not know.
    """
    kind = CORPUS_FILES[path.name.split(".")[0]]
    source = re.sub(r"--[^\n]*", lambda m: " " * len(m.group()), path.read_text("utf-8"))
    cases = []
    for match in _EXAMPLES.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        expected, grain = _expected(kind, " ".join(match.group("value").split()), now, line)
        for text in _STRING.findall(match.group("texts")):
            cases.append(Case(kind, ast.literal_eval(f'"{text}"'), expected, grain, line))
    return cases


def _number(text: str) -> int | float:
    value = float(text.strip("() "))
    return int(value) if value.is_integer() else value


def _moment(numbers: str, now: datetime) -> str:
    y, mo, d, h, mi, s = (int(float(x)) for x in numbers.strip("() ").split(","))
    return datetime(y, mo, d, h, mi, s, tzinfo=now.tzinfo).isoformat()


def _expected(kind: str, value: str, now: datetime, line: int) -> tuple[Any, str | None]:
    tuple6 = r"\(([-\d.,\s]+)\)"
    if kind == "time":
        if m := re.fullmatch(rf"datetime(?:Holiday)? {tuple6} (\w+)(?: \".*\")?", value):
            return _moment(m.group(1), now), m.group(2).lower()
        if m := re.fullmatch(rf"datetimeInterval \({tuple6}, {tuple6}\) (\w+)", value):
            return {"from": _moment(m.group(1), now), "to": _moment(m.group(2), now)}, m.group(3).lower()
        if m := re.fullmatch(rf"datetimeOpenInterval (After|Before) {tuple6} (\w+)", value):
            side = "from" if m.group(1) == "After" else "to"
            return {side: _moment(m.group(2), now)}, m.group(3).lower()
    elif kind == "number" and (m := re.fullmatch(rf"NumeralValue ({_NUMBER})", value)):
        return _number(m.group(1)), None
    elif kind == "ordinal" and (m := re.fullmatch(r"OrdinalData (\d+)", value)):
        return int(m.group(1)), None
    elif kind == "duration" and (m := re.fullmatch(rf"DurationData ({_NUMBER}) (\w+)", value)):
        seconds = _number(m.group(1)) * DURATION_SECONDS[_DURATION_UNIT[m.group(2).lower()]]
        return {"seconds": int(seconds) if float(seconds).is_integer() else seconds}, None
    elif kind == "money":
        if m := re.fullmatch(rf"simple (\w+) ({_NUMBER})", value):
            return _money(m.group(1), _number(m.group(2))), None
        if m := re.fullmatch(rf"between (\w+) \(({_NUMBER}), ({_NUMBER})\)", value):
            return {"from": _money(m.group(1), _number(m.group(2))),
                    "to": _money(m.group(1), _number(m.group(3)))}, None
        if m := re.fullmatch(rf"(above|under) (\w+) ({_NUMBER})", value):
            return {"from" if m.group(1) == "above" else "to": _money(m.group(2), _number(m.group(3)))}, None
    raise ValueError(f"line {line}: a {kind} value this reader does not know: {value}")


def _money(unit: str, amount: float) -> dict[str, Any]:
    code, factor = _CURRENCY[unit]
    value = round(amount * factor, 6)
    return {"amount": int(value) if float(value).is_integer() else value, "currency": code}


# -- Duckling's values in malmoi's representation ----------------------------------------------


def _iso(text: str, now: datetime) -> str:
    return datetime.fromisoformat(text).astimezone(now.tzinfo).isoformat()


def convert(kind: str, value: dict[str, Any], now: datetime) -> tuple[Any, str | None] | None:
    """A value of Duckling's JSON as malmoi's ``(resolved, grain)``; None for one malmoi has no form for."""
    if kind == "time":
        if value.get("type") == "interval":
            ends = {side: value[side] for side in ("from", "to") if side in value}
            grains = [end["grain"] for end in ends.values()]
            grain = max(grains, key=GRAIN_RANK.__getitem__)
            return {side: _iso(end["value"], now) for side, end in ends.items()}, grain
        return _iso(value["value"], now), value["grain"]
    if kind in ("number", "ordinal"):
        number = value["value"]
        return (int(number) if isinstance(number, float) and number.is_integer() else number), None
    if kind == "duration":
        seconds = value["normalized"]["value"]
        return {"seconds": int(seconds) if float(seconds).is_integer() else seconds}, None
    if kind == "money":
        if value.get("type") == "interval":
            ends = {side: value[side] for side in ("from", "to") if side in value}
            if any(end.get("unit") not in _CURRENCY for end in ends.values()):
                return None
            return {side: _money(end["unit"], end["value"]) for side, end in ends.items()}, None
        if value.get("unit") not in _CURRENCY:
            return None
        return _money(value["unit"], value["value"]), None
    return value.get("value"), None


class EmbeddedDuckling:
    """Duckling in this process, answering malmoi's :class:`Value`.

    >>> duckling = EmbeddedDuckling("ko")  # doctest: +SKIP
    >>> duckling.find_values("내일 세 시", ["time"], now=now)  # doctest: +SKIP
    """

    def __init__(self, language: str = "ko", zoneinfo: str = "/usr/share/zoneinfo"):
        try:
            import duckling
        except ImportError as error:
            raise ImportError(
                "Duckling runs embedded through pyduckling-native-phihos; install it with "
                "`pip install 'malmoi[duckling]'`"
            ) from error
        self._duckling = duckling
        self._zones = duckling.load_time_zones(zoneinfo)
        self._locale = duckling.default_locale_lang(duckling.parse_lang(language.split("-")[0].upper()))

    def raw(self, text: str, kinds: Iterable[str], *, now: datetime) -> list[dict[str, Any]]:
        """Duckling's own answer, as JSON."""
        d = self._duckling
        offset = now.utcoffset()
        assert offset is not None
        hours = -int(offset.total_seconds() // 3600)
        zone = str(getattr(now.tzinfo, "key", "")) or (f"Etc/GMT{hours:+d}" if hours else "Etc/UTC")
        context = d.Context(d.parse_ref_time(self._zones, zone, int(now.timestamp())), self._locale)
        dimensions = d.parse_dimensions([_DIMENSIONS[k] for k in kinds])
        return list(d.parse(text, context, dimensions, False))

    def find_values(self, text: str, kinds: Iterable[str], *, now: datetime) -> list[Value]:
        wanted = list(kinds)
        by_dimension = {dimension: kind for kind, dimension in _DIMENSIONS.items() if kind in wanted}
        out = []
        for item in self.raw(text, wanted, now=now):
            kind = by_dimension.get(item["dim"])
            converted = convert(kind, item["value"], now) if kind else None
            if kind is None or converted is None:
                continue
            start, end = item["start"], item["end"]
            out.append(Value(kind, start, end, text[start:end], converted[0], converted[1]))
        return out
