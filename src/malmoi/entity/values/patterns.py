"""Pattern entities: an entity type given by a regular expression (``ORDER_ID: "[A-Z]{2}-\\d{6}"``).

Patterns are compiled once, when the bot loads; a pattern that does not compile, or that matches
the empty string (it would match everywhere), is a problem naming the file, the line, the error
and its position. The value of a match is its text, or its group named ``value`` if the pattern
has one (``"주문번호 (?P<value>\\d+)"`` gives the digits).

Why the ``regex`` package and not ``re``: a pattern written by a bot's author runs on text
written by anyone, and a pattern like ``(a|aa)+b`` takes exponential time on "aaaa...c".
``regex`` reads the same syntax as ``re`` and bounds each search with a timeout; a length cap
alone would not (30 characters are enough for 2^30 steps). A search that times out finds
nothing for that pattern in that text, and says so in the log.
"""

from __future__ import annotations

import logging

from malmoi.data._entities import PatternEntity, compile_pattern, compile_patterns
from malmoi.entity.values._value import Value

__all__ = ["TIMEOUT_S", "PatternEntity", "compile_pattern", "compile_patterns", "find_patterns"]

logger = logging.getLogger(__name__)

TIMEOUT_S = 0.01  # per pattern and text; a sane pattern needs microseconds on a chat message


def find_patterns(text: str, patterns: list[PatternEntity]) -> list[Value]:
    """Every match of every pattern, in text order (matches of different types may overlap;
    :func:`malmoi.entity.values.merge.merge` settles that)."""
    out = []
    for entity in patterns:
        try:
            matches = list(entity.pattern.finditer(text, timeout=TIMEOUT_S))
        except TimeoutError:
            logger.warning("the pattern of %s took over %.0f ms on a text of %d characters; no match taken",
                           entity.entity, TIMEOUT_S * 1000, len(text))
            continue
        for match in matches:
            if match.end() == match.start():
                continue
            value = match.group("value") if "value" in entity.pattern.groupindex else match.group()
            out.append(Value(entity.entity, match.start(), match.end(), match.group(), value))
    out.sort(key=lambda v: (v.start, -v.end))
    return out
