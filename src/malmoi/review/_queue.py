"""Which logged messages need a person, grouped so that one answer can cover many.

Messages come from the message log (:mod:`malmoi.dialogue.store`): those that fell back or whose
confidence was under a threshold. The same text logged many times is one :class:`ReviewItem`
carrying every message id. Items are parsed again with the bot's current model, for its top
guesses, its entities (as inline markup) and its sentence vectors, and grouped: greedy leader
clustering (each item, most frequent first, joins the group whose first item is the most
similar, if the similarity reaches a threshold; otherwise it starts a group).

The similarity of two texts is the mean of two cosines. One of the model's sentence vectors,
centred on the mean of its class centres (raw vectors share a large common direction). The other
of character 1-3-gram TF-IDF vectors of the texts: the model's vectors of texts it knows nothing
about all fall in one region (measured on the tiny test bot, "노래 한 곡 틀어줘" and "우산 챙겨야
할까" had a centred cosine of 0.89), and their words are what still tells them apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from malmoi.data._reading import normalize_text
from malmoi.evaluate import Candidate
from malmoi.review._answers import markup_of

__all__ = ["DEFAULT_BELOW", "DEFAULT_SIMILARITY", "ReviewGroup", "ReviewItem", "group_items",
           "pending_messages", "review_items", "text_similarities"]

# A message answered with less confidence than this is listed even when it did not fall back:
# half the probability mass elsewhere means the model hesitated between intents.
DEFAULT_BELOW = 0.5
# Similarity (text_similarities) from which two texts share a group: on the tiny test bot, two
# spellings of one question scored 0.91, "노래 한 곡 틀어줘" and "음악 틀어줘" 0.66, unrelated
# requests 0.18-0.48.
DEFAULT_SIMILARITY = 0.6
TOP_GUESSES = 3


@dataclass(frozen=True)
class Pending:
    """One distinct text of the log awaiting review, with every message that said it (newest first)."""

    text: str
    message_ids: tuple[int, ...]
    last_seen: str
    logged_intent: str
    logged_confidence: float
    fallback: bool
    model_version: str


@dataclass(frozen=True)
class ReviewItem:
    """A pending text with what the current model makes of it."""

    pending: Pending
    guesses: tuple[Candidate, ...]
    markup: str  # the text with the model's entities as [value](TYPE)

    def to_dict(self) -> dict[str, Any]:
        p = self.pending
        return {"text": p.text, "message_ids": list(p.message_ids), "count": len(p.message_ids),
                "last_seen": p.last_seen, "logged_intent": p.logged_intent,
                "logged_confidence": round(p.logged_confidence, 4), "fallback": p.fallback,
                "model_version": p.model_version, "markup": self.markup,
                "guesses": [{"intent": g.intent, "confidence": round(g.confidence, 4)} for g in self.guesses]}


@dataclass(frozen=True)
class ReviewGroup:
    id: int
    items: tuple[ReviewItem, ...]

    @property
    def messages(self) -> int:
        return sum(len(i.pending.message_ids) for i in self.items)

    @property
    def guesses(self) -> tuple[Candidate, ...]:
        """The group's intents by mean confidence over its items."""
        totals: dict[str, float] = {}
        for item in self.items:
            for g in item.guesses:
                totals[g.intent] = totals.get(g.intent, 0.0) + g.confidence
        ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:TOP_GUESSES]
        return tuple(Candidate(name, total / len(self.items)) for name, total in ranked)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "messages": self.messages, "items": [i.to_dict() for i in self.items],
                "guesses": [{"intent": g.intent, "confidence": round(g.confidence, 4)} for g in self.guesses]}


def pending_messages(
    rows: Iterable[dict[str, Any]], *, reviewed_ids: set[int], reviewed_texts: set[str]
) -> list[Pending]:
    """Distinct texts of logged message rows (newest first), leaving out what was already reviewed."""
    by_text: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = normalize_text(str(row["text"]))
        if not key or key in reviewed_texts or int(row["id"]) in reviewed_ids:
            continue
        by_text.setdefault(key, []).append(row)
    found = []
    for key, group in by_text.items():
        newest = group[0]
        created = newest["created_at"]
        found.append(Pending(
            text=key, message_ids=tuple(int(r["id"]) for r in group),
            last_seen=created.isoformat(timespec="seconds") if hasattr(created, "isoformat") else str(created),
            logged_intent=str(newest["intent"]), logged_confidence=float(newest["confidence"]),
            fallback=bool(newest["fallback"]), model_version=str(newest["model_version"]),
        ))
    return found


def review_items(pending: Sequence[Pending], results: Sequence[Any]) -> list[ReviewItem]:
    """Each pending text with the model's parse of it (``results`` in the same order)."""
    return [
        ReviewItem(
            pending=p,
            guesses=tuple(Candidate(s.name, float(s.confidence)) for s in r.intent_ranking[:TOP_GUESSES]),
            markup=markup_of(p.text, [(e.start, e.end, e.entity) for e in r.entities]) if r.text == p.text else p.text,
        )
        for p, r in zip(pending, results)
    ]


def text_similarities(texts: Sequence[str], vectors: np.ndarray | None = None,
                      origin: np.ndarray | None = None) -> np.ndarray:
    """``(n, n)`` similarities: the mean of the cosines of centred ``vectors`` and of character n-grams.

    Without ``vectors``, the n-gram cosine alone.
    """
    lexical = _ngram_cosines(texts)
    if vectors is None:
        return lexical
    unit = np.asarray(vectors, dtype=np.float64)
    if origin is not None:
        unit = unit - origin
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    return (unit @ unit.T + lexical) / 2


def _ngram_cosines(texts: Sequence[str]) -> np.ndarray:
    """Cosines of TF-IDF vectors of character 1-3-grams (spaces as word boundaries), IDF over ``texts``."""
    grams = [Counter(g for n in (1, 2, 3) for g in _ngrams(f" {t} ", n)) for t in texts]
    frequency = Counter(g for counts in grams for g in counts)
    index = {g: i for i, g in enumerate(frequency)}
    matrix = np.zeros((len(texts), len(index)))
    for row, counts in enumerate(grams):
        for gram, count in counts.items():
            matrix[row, index[gram]] = count * np.log((1 + len(texts)) / (1 + frequency[gram]) + 1)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return matrix @ matrix.T


def _ngrams(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(len(text) - n + 1) if text[i : i + n].strip()]


def group_items(items: Sequence[ReviewItem], similarities: np.ndarray | None, *,
                threshold: float = DEFAULT_SIMILARITY) -> list[ReviewGroup]:
    """Greedy leader clustering of items by their ``(n, n)`` similarities (:func:`text_similarities`).

    ``similarities`` None gives each item its own group. Groups come with the most messages first.
    """
    if not items:
        return []
    order = sorted(range(len(items)), key=lambda i: -len(items[i].pending.message_ids))
    members: list[list[int]] = []
    if similarities is None:
        members = [[i] for i in order]
    else:
        leaders: list[int] = []
        for i in order:
            if leaders:
                scores = similarities[leaders, i]
                best = int(np.argmax(scores))
                if scores[best] >= threshold:
                    members[best].append(i)
                    continue
            leaders.append(i)
            members.append([i])
    groups = [tuple(items[i] for i in m) for m in members]
    groups.sort(key=lambda g: -sum(len(i.pending.message_ids) for i in g))
    return [ReviewGroup(id=n + 1, items=g) for n, g in enumerate(groups)]


def model_origin(model: Any) -> np.ndarray | None:
    """The mean of the model's class centres (None for a model without a centre-based head)."""
    scorer = getattr(model, "scorer", None)
    centres = getattr(scorer, "centres", None)
    return None if centres is None else np.asarray(centres, dtype=np.float64).mean(0)


def sentence_vectors(results: Sequence[Any]) -> np.ndarray | None:
    vectors = []
    for r in results:
        doc = getattr(r, "doc", None)
        if doc is None or "sentence" not in doc.vectors:
            return None
        vectors.append(np.asarray(doc.vectors["sentence"], dtype=np.float64))
    return np.stack(vectors) if vectors else None
