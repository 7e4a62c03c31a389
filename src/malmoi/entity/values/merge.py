"""One rule for entities from four sources: the tagger (CRF), system values, dictionaries, patterns.

:func:`merge` applies it, in this order:

1. **A CRF entity whose text is a synonym in its type's dictionary takes the canonical value**
   ("서울특별시" tagged CITY resolves to "서울").
2. **A CRF entity that holds a system value takes that value's resolution**: where one of the
   two contains the other and the CRF entity has nothing more than spaces and particles around
   the value (a DATE "금요일에" holds sys.time "금요일"; "3번 출구" holds the number 3 but also
   "번 출구", so it does not). The CRF entity keeps its type and takes the value's span if the
   value is longer ("다음 주 금요일" where the tagger marked only "금요일"); the system value is
   not reported again.
3. **CRF entities stand**: the bot's own tagger, trained on its own data, decides where it has
   tagged; any other value that overlaps a CRF entity is dropped.
4. **Elsewhere the longest value wins**; at equal length a pattern entity (its author meant
   exactly that shape) before a dictionary entity before a system value.

System values come out as ``sys.<kind>`` (``sys.time``); dictionary and pattern entities under
their type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from malmoi.entity.values._value import Value

_SOURCES = ("crf", "pattern", "dictionary", "system")  # rule 4's order at equal length
# What may stand around a system value inside a CRF entity: spaces, punctuation, particles.
_PARTICLES = re.compile(
    r"[\s.,!?~]*(?:에서부터|에서|에는|에도|부터|까지|으로|이나|에|은|는|이|가|을|를|로|도|만|의|와|과|쯤|경)?[\s.,!?~]*"
)


@dataclass(frozen=True)
class Span:
    """An entity in a text, from any source, with its resolution if it has one."""

    entity: str  # the type: "DATE", "CITY", "sys.time"
    start: int
    end: int
    text: str
    resolved: Any = None
    grain: str | None = None
    source: str = "crf"  # "crf", "system", "dictionary" or "pattern"


def crf_span(entity: str, start: int, end: int, text: str) -> Span:
    """A tagger's entity (``text`` is the whole utterance) as a :class:`Span`."""
    return Span(entity, start, end, text[start:end])


def _from_value(value: Value, source: str) -> Span:
    entity = f"sys.{value.kind}" if source == "system" else value.kind
    return Span(entity, value.start, value.end, value.text, value.resolved, value.grain, source)


def _holds(outer: Span, inner: Span | Value, text_of_outer: str) -> bool:
    """Whether ``outer`` holds ``inner`` with only spaces and particles around it."""
    if inner.start < outer.start or inner.end > outer.end:
        return False
    before = text_of_outer[: inner.start - outer.start]
    after = text_of_outer[inner.end - outer.start :]
    return _PARTICLES.fullmatch(after) is not None and not before.strip(" .,!?~")


def _same_expression(crf: Span, value: Value) -> bool:
    if value.start <= crf.start and value.end >= crf.end:
        return True  # the value holds the CRF entity ("다음 주 금요일" around "금요일")
    return _holds(crf, value, crf.text)


def merge(
    crf: Sequence[Span],
    system: Sequence[Value] = (),
    dictionary: Sequence[Value] = (),
    pattern: Sequence[Value] = (),
    *,
    synonyms: Callable[[str, str], str | None] | None = None,
) -> list[Span]:
    """Merge the four sources by the rule of this module; the result is in text order.

    Args:
        crf: the tagger's entities (:func:`crf_span`).
        system, dictionary, pattern: values from :func:`~malmoi.entity.values.find_values`,
            :meth:`DictionaryMatcher.find <malmoi.entity.values.dictionary.DictionaryMatcher.find>`,
            :func:`~malmoi.entity.values.patterns.find_patterns`.
        synonyms: ``(type, text) -> canonical or None`` for rule 1, e.g.
            ``DictionaryMatcher.resolve``; without it, rule 1 uses the dictionary values found.

    >>> from malmoi.entity.values import Value
    >>> date = crf_span("DATE", 0, 4, "금요일에 만나")
    >>> friday = Value("time", 0, 3, "금요일", "2024-05-17T00:00:00+09:00", "day")
    >>> [(s.entity, s.text, s.resolved) for s in merge([date], [friday])]
    [('DATE', '금요일에', '2024-05-17T00:00:00+09:00')]
    """
    absorbed: set[int] = set()
    enriched: list[Span] = []
    for span in crf:
        canonical = synonyms(span.entity, span.text) if synonyms is not None else None
        if canonical is None:  # rule 1 from the dictionary values found
            canonical = next((v.resolved for v in dictionary if v.kind == span.entity and _holds(span, v, span.text)),
                             None)
        if canonical is not None:
            span = replace(span, resolved=canonical, source="crf")
        for k, value in enumerate(system):  # rule 2
            if k not in absorbed and span.resolved is None and _same_expression(span, value):
                absorbed.add(k)
                if value.start < span.start or value.end > span.end:  # the value holds the span
                    span = replace(span, start=value.start, end=value.end, text=value.text)
                span = replace(span, resolved=value.resolved, grain=value.grain)
                break
        enriched.append(span)
    others = [_from_value(v, "system") for k, v in enumerate(system) if k not in absorbed]
    others += [_from_value(v, "dictionary") for v in dictionary]
    others += [_from_value(v, "pattern") for v in pattern]
    taken = [(s.start, s.end) for s in enriched]  # rule 3
    others.sort(key=lambda s: (s.start - s.end, _SOURCES.index(s.source), s.start))  # rule 4
    kept = list(enriched)
    for span in others:
        if any(span.start < end and start < span.end for start, end in taken):
            continue
        taken.append((span.start, span.end))
        kept.append(span)
    kept.sort(key=lambda s: (s.start, s.end))
    return kept

