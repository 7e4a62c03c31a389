"""Names that malmoi reserves or checks, and how one entity tag is read.

A leaf module: it imports nothing of malmoi, so that the settings (``bot.yaml``), the data
loaders, the model and the metrics can all share these rules without importing each other.

A tag is ``O`` (outside any entity) or ``PREFIX-TYPE`` with a prefix of BIO, BIOES or BILOU
(:mod:`malmoi.data.tags` explains the schemes and turns tag sequences into spans).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal, overload

__all__ = [
    "FALLBACK", "OUTSIDE", "PREFIX_LETTERS", "SYSTEM_KINDS", "SYSTEM_PREFIX", "TYPE_PATTERN", "TYPE_RULE",
    "is_entity_type", "split_tag", "tag_types",
]

# The intent name of a parse result that no intent fits. A bot's own intent of that name, in
# any case, would be indistinguishable from it: the name is reserved.
FALLBACK = "fallback"

OUTSIDE = "O"

# System entities (malmoi.entity.values): bot.yaml's `system_entities` names these kinds, and a
# parse reports them as entities of type `sys.<kind>` (`sys.time`).
SYSTEM_KINDS = ("time", "number", "money", "duration", "ordinal", "phone", "email", "url")
SYSTEM_PREFIX = "sys."
PREFIX_LETTERS = "BIESLU"  # every scheme's prefixes: B I (BIO), E S (BIOES), L U (BILOU)

# Letters (any script), digits and "_", starting with a letter or "_", and such names joined by
# dots, as ATIS and Rasa data write them: ``LOCATION``, ``지역``, ``fromloc.city_name``.
TYPE_PATTERN = r"[^\W\d]\w*(?:\.\w+)*"
TYPE_RULE = "letters, digits and `_`, not starting with a digit, with `.` allowed between names"
_TYPE_RE = re.compile(TYPE_PATTERN)
_TAG_RE = re.compile(rf"([{PREFIX_LETTERS}])-({TYPE_PATTERN})")


def is_entity_type(name: str) -> bool:
    """Whether ``name`` can be an entity type: letters, digits, ``_``; not starting with a digit;
    dots between such names (ATIS's ``fromloc.city_name``).

    >>> is_entity_type("LOCATION"), is_entity_type("fromloc.city_name"), is_entity_type("a..b")
    (True, True, False)
    """
    return _TYPE_RE.fullmatch(name) is not None


@overload
def split_tag(tag: str, *, lenient: Literal[False] = False) -> tuple[str, str] | None: ...
@overload
def split_tag(tag: str, *, lenient: Literal[True]) -> tuple[str, str]: ...
@overload
def split_tag(tag: str, *, lenient: bool) -> tuple[str, str] | None: ...


def split_tag(tag: str, *, lenient: bool = False) -> tuple[str, str] | None:
    """Split a tag into ``(prefix, type)``; ``("O", "")`` for ``O``.

    Strict (the default, for data): ``None`` if the tag is malformed, i.e. not ``O`` and not an
    uppercase prefix, ``-`` and an entity type (:func:`is_entity_type`).

    Lenient (for a model's tags, and for metrics on tags written elsewhere): never ``None``.
    ``O``, ``o`` and the empty string are outside; the prefix is what comes before the first
    ``-``, in any case; a tag without a known prefix (a bare ``LOCATION``, or ``Q-X``) is an
    inside tag of an entity whose type is the whole tag, as conlleval's ``-r`` mode reads a bare
    type; the type may be any text (``B-date-time`` is ``("B", "date-time")``).

    >>> split_tag("S-LOCATION"), split_tag("O"), split_tag("s-location")
    (('S', 'LOCATION'), ('O', ''), None)
    >>> split_tag("s-location", lenient=True), split_tag("LOCATION", lenient=True)
    (('S', 'location'), ('I', 'LOCATION'))
    """
    return _read_leniently(tag) if lenient else _split_strictly(tag)


@lru_cache(maxsize=4096)
def _split_strictly(tag: str) -> tuple[str, str] | None:
    if tag == OUTSIDE:
        return (OUTSIDE, "")
    m = _TAG_RE.fullmatch(tag)
    return (m[1], m[2]) if m else None


@lru_cache(maxsize=4096)
def _read_leniently(tag: str) -> tuple[str, str]:
    if tag in ("", OUTSIDE, "o"):
        return (OUTSIDE, "")
    prefix, dash, type_ = tag.partition("-")
    prefix = prefix.upper()
    if not dash or len(prefix) != 1 or prefix not in PREFIX_LETTERS:
        return ("I", tag)
    return (prefix, type_)


def tag_types(tags: Iterable[str]) -> set[str]:
    """The entity types that some tag of ``tags`` names (read leniently).

    >>> sorted(tag_types(["O", "B-DATE", "E-DATE", "S-LOCATION"]))
    ['DATE', 'LOCATION']
    """
    return {type_ for tag in tags if (type_ := split_tag(tag, lenient=True)[1])}
