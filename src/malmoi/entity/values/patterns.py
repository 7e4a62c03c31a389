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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import regex

from malmoi.data.problems import Problem
from malmoi.entity.values._value import Value
from malmoi.labels import TYPE_RULE, is_entity_type

logger = logging.getLogger(__name__)

TIMEOUT_S = 0.01  # per pattern and text; a sane pattern needs microseconds on a chat message
_QUOTING = 'in YAML, quote the pattern and double its backslashes: `pattern: "[A-Z]{2}-\\\\d{6}"`'


@dataclass(frozen=True)
class PatternEntity:
    entity: str
    pattern: Any  # a compiled regex.Pattern (the package has no type information)


def compile_pattern(entity: str, pattern: object, problems: list[Problem], *, where: str = "bot.yaml",
                    line: int | None = None) -> PatternEntity | None:
    """Compile one pattern entity; None, with a problem, if it cannot be used."""
    if not is_entity_type(entity):
        problems.append(Problem(where, line, f"the entity type `{entity}`", TYPE_RULE, "e.g. `ORDER_ID`"))
        return None
    if not isinstance(pattern, str) or not pattern:
        problems.append(Problem(where, line, f"the pattern {pattern!r} of `{entity}`", "a regular expression as text",
                                _QUOTING))
        return None
    try:
        compiled = regex.compile(pattern, regex.VERSION0)
    except regex.error as error:
        where_in = f" at position {error.pos}" if error.pos is not None else ""
        shown = f"{pattern[: error.pos]}⟨here⟩{pattern[error.pos :]}" if error.pos is not None else pattern
        problems.append(Problem(where, line, f"the pattern `{pattern}` of `{entity}`: {error.msg}{where_in} ({shown})",
                                "a regular expression in Python's syntax",
                                "escape a special character with a backslash (`\\.`, `\\(`); " + _QUOTING))
        return None
    if compiled.fullmatch(""):
        problems.append(Problem(where, line, f"the pattern `{pattern}` of `{entity}`, which matches empty text",
                                "a pattern that needs at least one character",
                                "use `+` rather than `*` (`\\d+`), or `{1,}`"))
        return None
    return PatternEntity(entity, compiled)


def compile_patterns(patterns: Mapping[str, object], problems: list[Problem], *, where: str = "bot.yaml",
                     lines: Mapping[str, int] | None = None) -> list[PatternEntity]:
    """Compile ``{TYPE: pattern}``; problems for those that fail, the others returned."""
    out = []
    for entity, pattern in patterns.items():
        compiled = compile_pattern(entity, pattern, problems, where=where, line=(lines or {}).get(entity))
        if compiled is not None:
            out.append(compiled)
    return out


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
