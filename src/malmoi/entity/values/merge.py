"""One rule for entities from four sources: the tagger (CRF), system values, dictionaries, patterns.

:func:`merge` applies it, in this order:

1. **A CRF entity whose text is a synonym in its type's dictionary takes the canonical value**
   ("서울특별시" tagged CITY resolves to "서울"); so does one that a match of its type's dictionary
   holds, or holds with only particles around it, and it takes the match's span if that is
   longer (the tagger marked "서울" of "서울특별시").
2. **A CRF entity that holds a system value takes that value's resolution**, if its type is one
   whose training entities are mostly such values (DATE for sys.time; learned when the model is
   trained, so a LOCATION never resolves to a number): where one of the
   two contains the other and the CRF entity has nothing more than spaces and particles around
   the value (a DATE "금요일에" holds sys.time "금요일"; "3번 출구" holds the number 3 but also
   "번 출구", so it does not). The CRF entity keeps its type and takes the value's span if the
   value is longer ("다음 주 금요일" where the tagger marked only "금요일"); the system value is
   not reported again.
3. **CRF entities stand**: the bot's own tagger, trained on its own data, decides where it has
   tagged; any other value that overlaps a CRF entity is dropped.
4. **Elsewhere the longest value wins**; at equal length a pattern entity (its author meant
   exactly that shape) before a dictionary entity before a system value before a plug-in
   extractor's.

System values come out as ``sys.<kind>`` (``sys.time``); dictionary and pattern entities under
their type. Every source gives :class:`malmoi.parts.Found` spans of the utterance's normalized
text; :meth:`malmoi.model.Model.parse` calls :func:`merge` with all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from malmoi.parts import Found

__all__ = ["merge"]

_SOURCES = ("crf", "pattern", "dictionary", "system", "extractor")  # rule 4's order at equal length
# What may stand around a system value inside a CRF entity: spaces, punctuation, particles.
_PARTICLES = re.compile(
    r"[\s.,!?~]*(?:에서부터|에서|에는|에도|부터|까지|으로|이나|에|은|는|이|가|을|를|로|도|만|의|와|과|쯤|경)?[\s.,!?~]*"
)


def _holds(outer: Found, inner: Found, text: str) -> bool:
    """Whether ``outer`` holds ``inner`` with only spaces and particles around it."""
    if inner.start < outer.start or inner.end > outer.end:
        return False
    before = text[outer.start : inner.start]
    after = text[inner.end : outer.end]
    return _PARTICLES.fullmatch(after) is not None and not before.strip(" .,!?~")


def _same_expression(crf: Found, value: Found, text: str) -> bool:
    if value.start <= crf.start and value.end >= crf.end:
        return True  # the value holds the CRF entity ("다음 주 금요일" around "금요일")
    return _holds(crf, value, text)


def merge(text: str, found: Sequence[Found], *, canonical: Callable[[str, str], Any] | None = None,
          value_types: Mapping[str, str] | None = None) -> list[Found]:
    """Merge the entities of every source by the rule of this module; the result is in text order.

    Args:
        text: the utterance (normalized) that the spans index.
        found: the tagger's entities (``source="crf"``) and every extractor's.
        canonical: ``(type, text) -> canonical value or None`` for rule 1 (the dictionary
            part's :meth:`~malmoi.parts.Extractor.canonical`); without it, rule 1 uses the
            dictionary entities found.
        value_types: tagger type → the system type whose values it takes (``{"DATE": "sys.time"}``,
            learned by the system-values part); rule 2 applies to these types only. None: to
            every type.

    >>> text = "금요일에 만나"
    >>> date = Found("DATE", 0, 4, source="crf")
    >>> friday = Found("sys.time", 0, 3, "2024-05-17T00:00:00+09:00", "day", source="system")
    >>> [(f.type, text[f.start:f.end], f.resolved) for f in merge(text, [date, friday])]
    [('DATE', '금요일에', '2024-05-17T00:00:00+09:00')]
    """
    crf = [f for f in found if f.source == "crf"]
    system = [f for f in found if f.source == "system"]
    dictionary = [f for f in found if f.source == "dictionary"]
    absorbed: set[int] = set()
    enriched: list[Found] = []
    for span in crf:
        # Rule 1: a match of the span's type's dictionary, the longer of the two spans ("서울특별시"
        # where the tagger took "서울"), else the synonyms of its text.
        match = next((d for d in dictionary if d.type == span.type and _same_expression(span, d, text)), None)
        if match is not None:
            value = match.resolved
            span = replace(span, start=min(span.start, match.start), end=max(span.end, match.end))
        else:
            value = canonical(span.type, text[span.start : span.end]) if canonical is not None else None
        if value is not None:
            span = replace(span, resolved=value)
        for k, time in enumerate(system):  # rule 2
            if value_types is not None and value_types.get(span.type) != time.type:
                continue
            if k not in absorbed and span.resolved is None and _same_expression(span, time, text):
                absorbed.add(k)
                if time.start < span.start or time.end > span.end:  # the value holds the span
                    span = replace(span, start=time.start, end=time.end)
                span = replace(span, resolved=time.resolved, grain=time.grain)
                break
        enriched.append(span)
    used = {id(system[k]) for k in absorbed}
    others = [f for f in found if f.source != "crf" and id(f) not in used]
    taken = [(s.start, s.end) for s in enriched]  # rule 3
    order = {source: rank for rank, source in enumerate(_SOURCES)}
    others.sort(key=lambda s: (s.start - s.end, order.get(s.source, len(_SOURCES)), s.start))  # rule 4
    kept = list(enriched)
    for span in others:
        if any(span.start < end and start < span.end for start, end in taken):
            continue
        taken.append((span.start, span.end))
        kept.append(span)
    kept.sort(key=lambda s: (s.start, s.end))
    return kept
