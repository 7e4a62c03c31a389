"""Word-level entity tags: BIO, BIOES and BILOU (Ramshaw & Marcus 1995; Ratinov & Roth 2009).

A tag is ``O`` (outside any entity) or ``PREFIX-TYPE``. The prefix says where the word sits in
its entity:

=========  ==========  ==========  =========================================
BIO        BIOES       BILOU       meaning
=========  ==========  ==========  =========================================
``B``      ``B``       ``B``       first word of an entity of 2+ words
``I``      ``I``       ``I``       inner word
(``I``)    ``E``       ``L``       last word
(``B``)    ``S``       ``U``       an entity of exactly one word
=========  ==========  ==========  =========================================

In BIO an entity is ``B`` followed by any number of ``I``; the schemes with an explicit end
make an unclosed ``B`` an error. Example (BIOES)::

    >>> tags_to_word_spans(["O", "B-DATE", "E-DATE", "S-LOCATION", "O"])
    [(1, 2, 'DATE'), (3, 3, 'LOCATION')]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from malmoi.labels import OUTSIDE, TYPE_PATTERN, TYPE_RULE, is_entity_type, split_tag

__all__ = [
    "PREFIXES", "TYPE_PATTERN", "TYPE_RULE", "Scheme", "TagIssue", "check_tags", "detect_scheme", "is_entity_type",
    "malformed_tag_hint", "split_tag", "suggest_tag", "tags_to_word_spans", "word_spans_to_tags",
]

Scheme = Literal["BIO", "BIOES", "BILOU"]

PREFIXES: dict[str, frozenset[str]] = {
    "BIO": frozenset("BI"),
    "BIOES": frozenset("BIES"),
    "BILOU": frozenset("BILU"),
}
# Per scheme: the prefix that closes a multi-word entity and the one for a one-word entity.
_LAST = {"BIO": "I", "BIOES": "E", "BILOU": "L"}
_SINGLE = {"BIO": "B", "BIOES": "S", "BILOU": "U"}
_CONTINUES = frozenset("IEL")  # prefixes that continue the open entity of their type
_CLOSES = frozenset("ELSU")  # prefixes that close their entity
_LOWERCASE_PREFIX_RE = re.compile(rf"([biesluBIESLU])-({TYPE_PATTERN})")


def _prefix_ignoring_case(tag: str) -> str | None:
    """The prefix of ``tag``, also when its only fault is a lowercase prefix (``s-DATE``)."""
    parsed = split_tag(tag)
    if parsed is not None:
        return parsed[0]
    m = _LOWERCASE_PREFIX_RE.fullmatch(tag)
    return m[1].upper() if m else None


def detect_scheme(tags: Iterable[str]) -> Scheme:
    """The scheme a sequence (or a whole file's worth) of tags is written in.

    ``E``/``S`` mean BIOES, ``L``/``U`` mean BILOU, neither means BIO. Where both appear the more
    frequent wins, so the other scheme's tags show up as errors in :func:`check_tags`.
    Malformed tags are ignored, except that a lowercase prefix counts as its uppercase: a file
    tagged ``s-DATE`` throughout is BIOES written in the wrong case, and its errors can say so.

    >>> detect_scheme(["B-DATE", "E-DATE", "O"]), detect_scheme(["U-DATE"]), detect_scheme(["O"])
    ('BIOES', 'BILOU', 'BIO')
    >>> detect_scheme(["s-DATE", "O"])
    'BIOES'
    """
    counts = Counter(prefix for tag in tags if (prefix := _prefix_ignoring_case(tag)) is not None)
    bioes = counts["E"] + counts["S"]
    bilou = counts["L"] + counts["U"]
    if bioes == 0 and bilou == 0:
        return "BIO"
    return "BILOU" if bilou > bioes else "BIOES"


def tags_to_word_spans(tags: Sequence[str], *, lenient: bool = False) -> list[tuple[int, int, str]]:
    """Entities of a tag sequence as ``(first_word, last_word_inclusive, type)``, in any scheme.

    The one decoding rule of malmoi: data files, a model's predicted tags
    (:func:`malmoi.text.tags_to_entities`) and the metrics (:func:`malmoi.entity.metrics.conlleval`)
    all read entities with it. Valid sequences decode exactly. Invalid ones decode leniently, as
    conlleval and most taggers do: a continuation tag (``I``, ``E``, ``L``) without its ``B``
    starts an entity, a type change starts a new one, and an unclosed ``B`` ends where the next
    entity or ``O`` begins.

    Tags are read with :func:`split_tag`: strictly by default, where a malformed tag counts as
    ``O``; with ``lenient=True`` as :func:`split_tag` reads them leniently (a bare ``LOCATION``
    is ``I-LOCATION``; types may be any text), for tags that did not come through validation.

    >>> tags_to_word_spans(["B-DATE", "I-DATE", "O", "B-LOCATION"])
    [(0, 1, 'DATE'), (3, 3, 'LOCATION')]
    >>> tags_to_word_spans(["LOCATION", "b-date-time"], lenient=True)
    [(0, 0, 'LOCATION'), (1, 1, 'date-time')]
    """
    spans: list[tuple[int, int, str]] = []
    start: int | None = None  # first word of the open entity
    open_type = ""
    for i, tag in enumerate(tags):
        prefix, type_ = split_tag(tag, lenient=lenient) or (OUTSIDE, "")
        continues = prefix in _CONTINUES and start is not None and type_ == open_type
        if start is not None and not continues:
            spans.append((start, i - 1, open_type))
            start = None
        if prefix == OUTSIDE:
            continue
        if start is None:
            start, open_type = i, type_
        if prefix in _CLOSES:
            spans.append((start, i, type_))
            start = None
    if start is not None:
        spans.append((start, len(tags) - 1, open_type))
    return spans


def word_spans_to_tags(
    spans: Iterable[tuple[int, int, str]], length: int, scheme: Scheme = "BIOES"
) -> list[str]:
    """Tags for ``length`` words with the given non-overlapping ``(first, last_inclusive, type)``.

    The inverse of :func:`tags_to_word_spans`.

    >>> word_spans_to_tags([(1, 2, "DATE"), (3, 3, "LOCATION")], 5)
    ['O', 'B-DATE', 'E-DATE', 'S-LOCATION', 'O']
    """
    tags = ["O"] * length
    for first, last, type_ in spans:
        if first == last:
            tags[first] = f"{_SINGLE[scheme]}-{type_}"
            continue
        tags[first] = f"B-{type_}"
        for i in range(first + 1, last):
            tags[i] = f"I-{type_}"
        tags[last] = f"{_LAST[scheme]}-{type_}"
    return tags


@dataclass(frozen=True)
class TagIssue:
    """One invalid tag or transition in a sequence; ``index`` is 0-based, messages say word N."""

    index: int
    found: str
    expected: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.found}; expected {self.expected}"
        return f"{text}. Hint: {self.hint}" if self.hint else text


def check_tags(tags: Sequence[str], scheme: Scheme | None = None) -> list[TagIssue]:
    """Every invalid transition in a tag sequence, one :class:`TagIssue` each.

    ``scheme`` defaults to :func:`detect_scheme` of ``tags``. Malformed tags (see
    :func:`split_tag`) are reported too, but check them with :func:`suggest_tag` first for a
    better hint.

    >>> (issue,) = check_tags(["O", "I-DATE"])
    >>> issue.found, issue.hint
    ('`I-DATE` at word 2 after `O`', 'start the entity with `B-DATE`')
    """
    scheme = scheme or detect_scheme(tags)
    allowed = PREFIXES[scheme]
    last = _LAST[scheme]
    single = _SINGLE[scheme]
    continuations = {"I", last}
    issues: list[TagIssue] = []

    def unclosed(index: int, where: str, open_type: str) -> TagIssue:
        return TagIssue(
            index,
            f"`{tags[index]}` at word {index + 1} not closed {where}",
            f"`I-{open_type}` or `{last}-{open_type}` after it",
            f"end the entity with `{last}-{open_type}`, "
            f"or write `{single}-{open_type}` for a one-word entity",
        )

    open_type: str | None = None  # the entity the previous tag left open
    flagged = False  # the open entity already has an issue; "not closed" would only repeat it
    for i, tag in enumerate(tags):
        parsed = split_tag(tag)
        if parsed is None or (parsed[0] != "O" and parsed[0] not in allowed):
            issues.append(
                TagIssue(i, f"`{tag}` at word {i + 1}", "`O` or PREFIX-TYPE")
                if parsed is None
                else TagIssue(
                    i,
                    f"`{tag}` at word {i + 1}, a tag of another scheme",
                    f"{scheme} tags only (prefixes {', '.join(sorted(allowed))})",
                    "use one scheme per file",
                )
            )
            open_type, flagged = None, False
            continue
        prefix, type_ = parsed
        if prefix not in continuations:  # O, B or a one-word entity: whatever was open ends here
            if open_type is not None and scheme != "BIO" and not flagged:
                issues.append(unclosed(i - 1, f"before `{tag}`", open_type))
            open_type, flagged = (type_ if prefix == "B" else None), False
            continue
        if open_type is not None and type_ != open_type:
            hint = f"an entity has one type; start {type_} with `B-{type_}`"
            if scheme != "BIO":
                hint += f" after ending {open_type} with `{last}-{open_type}`"
            issues.append(
                TagIssue(i, f"`{tag}` at word {i + 1} inside the {open_type} entity",
                         f"`I-{open_type}` or `{last}-{open_type}`" if scheme != "BIO"
                         else f"`I-{open_type}`, or `B-{type_}` to start a new entity", hint)
            )
            flagged = True
        elif open_type is None:
            previous = f"`{tags[i - 1]}`" if i else "the start of the sentence"
            hint = f"start the entity with `B-{type_}`"
            if prefix == last and scheme != "BIO":
                hint += f", or write `{single}-{type_}` for a one-word entity"
            issues.append(
                TagIssue(i, f"`{tag}` at word {i + 1} after {previous}",
                         f"`{tag}` only right after `B-{type_}` or `I-{type_}`", hint)
            )
            flagged = True
        open_type = type_ if prefix == "I" else None
        flagged = flagged and open_type is not None
    if open_type is not None and scheme != "BIO" and not flagged:
        issues.append(unclosed(len(tags) - 1, "at the end of the sentence", open_type))
    return issues


def suggest_tag(tag: str, scheme: Scheme, known_types: Iterable[str] = ()) -> str | None:
    """A guess at the tag meant by a malformed one, or ``None``.

    ``known_types`` lets a lowercase type map to the spelling used elsewhere.

    >>> suggest_tag("s-location", "BIOES", ["LOCATION"]), suggest_tag("LOCATION", "BIO")
    ('S-LOCATION', 'B-LOCATION')
    """
    text = tag.strip()
    if text in {"o", "0", "Ｏ", "ｏ"}:
        return "O"
    by_lower = {t.lower(): t for t in known_types}
    m = re.fullmatch(r"([A-Za-z])\s*[-_.:]\s*(.+)", text)
    if m:
        prefix, type_ = m[1].upper(), m[2].strip()
        if prefix not in PREFIXES[scheme]:
            return None
    elif is_entity_type(text):  # no prefix: most likely a one-word entity
        prefix, type_ = _SINGLE[scheme], text
    else:
        return None
    type_ = by_lower.get(type_.lower(), type_)
    return f"{prefix}-{type_}" if is_entity_type(type_) else None


def malformed_tag_hint(tag: str, scheme: Scheme, known_types: Iterable[str] = ()) -> str:
    """The hint for a tag that :func:`split_tag` rejects: a guess, and the rule it broke.

    >>> malformed_tag_hint("s-DATE", "BIOES")
    'did you mean `S-DATE`? Prefixes are uppercase: `S-`, not `s-`'
    """
    guess = suggest_tag(tag, scheme, known_types)
    lowercase = _LOWERCASE_PREFIX_RE.fullmatch(tag.strip())
    if guess is not None and lowercase is not None and lowercase[1].islower():
        return (f"did you mean `{guess}`? Prefixes are uppercase: "
                f"`{lowercase[1].upper()}-`, not `{lowercase[1]}-`")
    hint = f"did you mean `{guess}`? " if guess else ""
    return hint + "prefixes are uppercase and joined to the entity type by `-`"
