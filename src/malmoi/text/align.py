"""Between character-span entities and per-token tags (BIO, BIOES).

Training turns each entity span into token tags; prediction turns tags back into spans.
:func:`split_at` first cuts tokens at entity boundaries, so that every entity is a whole run of
tokens and the round trip ``spans -> tags -> spans`` loses nothing. Decoding is tolerant, in the
manner of seqeval's chunk extraction: a model's invalid sequence (``O I-X``, ``B-X`` never
closed by ``E-X``) still yields entities instead of an error.

The tags themselves are the word-level ones of :mod:`malmoi.data.tags`, with tokens for words:
both directions here are :func:`~malmoi.data.tags.word_spans_to_tags` and
:func:`~malmoi.data.tags.tags_to_word_spans` plus the token offsets, so data files, training
and prediction share one encoding rule and one decoding rule.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Literal

from malmoi.data.schema import Entity
from malmoi.data.tags import tags_to_word_spans, word_spans_to_tags
from malmoi.text.tokenize import Token

Scheme = Literal["BIO", "BIOES"]


def split_at(tokens: Sequence[Token], text: str, boundaries: Iterable[int]) -> list[Token]:
    """Cut every token that straddles one of ``boundaries`` (character offsets into ``text``).

    A piece keeps its token's ``pos``; its ``form`` is unknown and left empty. Pieces are
    stripped of whitespace, and pieces that are only whitespace are dropped.

    >>> from malmoi.text import get_tokenizer
    >>> [t.text for t in split_at(get_tokenizer("en").tokenize("ab12"), "ab12", [1])]
    ['a', 'b', '12']
    """
    cuts = sorted(set(boundaries))
    out: list[Token] = []
    for token in tokens:
        lo = bisect.bisect_right(cuts, token.start)
        hi = bisect.bisect_left(cuts, token.end)
        if lo >= hi:
            out.append(token)
            continue
        edges = [token.start, *cuts[lo:hi], token.end]
        for start, end in itertools.pairwise(edges):
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start < end:
                out.append(replace(token, text=text[start:end], start=start, end=end, form=""))
    return out


def entity_boundaries(entities: Iterable[Entity]) -> list[int]:
    """The offsets where ``entities`` start and end, for :func:`split_at`."""
    return sorted({offset for e in entities for offset in (e.start, e.end)})


def entities_to_tags(
    tokens: Sequence[Token], entities: Iterable[Entity], scheme: Scheme = "BIOES"
) -> list[str]:
    """Tag each token with its place in ``entities``: ``B-``, ``I-``, ``E-``, ``S-`` or ``O``.

    Tokens must already be cut at entity boundaries (:func:`split_at`).

    Raises:
        ValueError: for an unknown scheme, overlapping entities, an entity that cuts a token
            or an entity that covers no token.

    >>> from malmoi.text import get_tokenizer
    >>> toks = get_tokenizer("en").tokenize("fly to New York")
    >>> entities_to_tags(toks, [Entity(7, 15, "city", "New York")])
    ['O', 'O', 'B-city', 'E-city']
    """
    if scheme not in ("BIO", "BIOES"):
        raise ValueError(f"unknown tagging scheme {scheme!r}; expected 'BIO' or 'BIOES'")
    spans: list[tuple[int, int, str]] = []
    starts = [t.start for t in tokens]
    previous: Entity | None = None
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        if previous is not None and entity.start < previous.end:
            raise ValueError(
                f"entities {_show(previous)} and {_show(entity)} overlap; "
                "an utterance can tag each character with one entity at most"
            )
        previous = entity
        first = bisect.bisect_left(starts, entity.start)
        last = first
        while last < len(tokens) and tokens[last].end <= entity.end:
            last += 1
        # Tokens first..last-1 lie inside the entity; the ones around it must lie outside.
        cut = [t for t in tokens[max(first - 1, 0) : last + 1] if _straddles(t, entity)]
        if cut:
            raise ValueError(
                f"entity {_show(entity)} cuts token {cut[0].text!r} at "
                f"{cut[0].start}-{cut[0].end}; cut tokens first with "
                "split_at(tokens, text, entity_boundaries(entities))"
            )
        if last == first:
            raise ValueError(
                f"entity {_show(entity)} covers no token; an entity must contain "
                "non-whitespace characters"
            )
        spans.append((first, last - 1, entity.type))
    return word_spans_to_tags(spans, len(tokens), scheme)


def tags_to_entities(tokens: Sequence[Token], tags: Sequence[str], text: str) -> list[Entity]:
    """Read entities back from per-token tags in BIO, BIOES or BILOU.

    Decoding never fails on an invalid sequence: ``I-`` or ``E-`` without a matching open
    entity starts a new one, a type change starts a new one, and an entity still open at ``O``
    or at the end is closed there (:func:`~malmoi.data.tags.tags_to_word_spans`). Tags are read
    leniently (:func:`malmoi.labels.split_tag`): a bare ``X`` is ``I-X``, a prefix in lowercase
    counts. An entity spans ``text[first.start:last.end]``.

    Raises:
        ValueError: if ``tags`` and ``tokens`` differ in length.

    >>> from malmoi.text import get_tokenizer
    >>> toks = get_tokenizer("en").tokenize("fly to New York")
    >>> tags_to_entities(toks, ["O", "I-city", "I-city", "E-city"], "fly to New York")
    [Entity(start=4, end=15, type='city', value='to New York')]
    """
    if len(tags) != len(tokens):
        raise ValueError(f"{len(tags)} tags for {len(tokens)} tokens; expected one tag per token")
    entities = []
    for first, last, type_ in tags_to_word_spans(tags, lenient=True):
        start, end = tokens[first].start, tokens[last].end
        entities.append(Entity(start, end, type_, text[start:end]))
    return entities


def _straddles(token: Token, entity: Entity) -> bool:
    """The token overlaps the entity without lying inside it."""
    overlaps = token.start < entity.end and token.end > entity.start
    return overlaps and (token.start < entity.start or token.end > entity.end)


def _show(entity: Entity) -> str:
    return f"{entity.type!r} {entity.value!r} at {entity.start}-{entity.end}"
