"""The review steps that read the message log and the model: list the groups, turn requests into answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from malmoi.data._reading import normalize_text
from malmoi.labels import tag_types
from malmoi.review._answers import Answer, ReviewError, ReviewLedger, check_markup, now
from malmoi.review._queue import (
    DEFAULT_BELOW,
    DEFAULT_SIMILARITY,
    Pending,
    ReviewGroup,
    group_items,
    model_origin,
    pending_messages,
    review_items,
    sentence_vectors,
    text_similarities,
)

__all__ = ["answers_from_requests", "groups_from_results", "pending_for", "review_groups"]

# Logged messages read per listing: the newest; older ones show once these are answered.
DEFAULT_LIMIT = 2000


def pending_for(store: Any, bot: str, ledger: ReviewLedger, *, below: float = DEFAULT_BELOW,
                limit: int = DEFAULT_LIMIT) -> list[Pending]:
    """The distinct texts of ``bot``'s log that fell back or were under ``below``, not yet reviewed."""
    if not 0.0 <= below <= 1.0:
        raise ReviewError(f"the confidence threshold {below} is not between 0 and 1")
    answers = ledger.answers()
    rows = store.messages_to_review(bot, below=below, limit=limit)
    return pending_messages(rows, reviewed_ids={i for a in answers for i in a.message_ids},
                            reviewed_texts={normalize_text(a.text) for a in answers})


def groups_from_results(pending: Sequence[Pending], results: Sequence[Any], model: Any, *,
                        similarity: float = DEFAULT_SIMILARITY) -> list[ReviewGroup]:
    """Groups of the pending texts, from the model's parse of each (``results`` in order)."""
    similarities = text_similarities([p.text for p in pending], sentence_vectors(results), model_origin(model))
    return group_items(review_items(pending, results), similarities, threshold=similarity)


def review_groups(store: Any, model: Any, *, bot: str, ledger: ReviewLedger, below: float = DEFAULT_BELOW,
                  similarity: float = DEFAULT_SIMILARITY, limit: int = DEFAULT_LIMIT) -> list[ReviewGroup]:
    """What ``malmoi review`` lists: the pending texts parsed again by ``model`` and grouped."""
    pending = pending_for(store, bot, ledger, below=below, limit=limit)
    results = model.parse_batch([p.text for p in pending]) if pending else []
    return groups_from_results(pending, results, model, similarity=similarity)


def answers_from_requests(store: Any, model: Any, bot: str, requests: Sequence[dict[str, Any]], *,
                          reviewer: str) -> list[Answer]:
    """Checked answers from requests ``{"message_ids": [...], "intent": NAME | None, "markup": ...}``.

    The text comes from the log, never from the request; ``intent`` None (or ``out_of_domain``
    true) answers "out of domain". The intent must be one of the model's and the markup's entity
    types the model's.
    """
    answers = []
    intents, types = list(model.intents), tag_types(model.tags)
    for request in requests:
        ids = sorted({int(i) for i in request.get("message_ids") or []})
        if not ids:
            raise ReviewError("an answer names no message: give the message ids to answer")
        rows = store.messages_by_id(bot, ids)
        missing = sorted(set(ids) - {int(r["id"]) for r in rows})
        if missing:
            raise ReviewError(f"no message {', '.join(map(str, missing))} of the bot {bot!r} in the message log")
        texts = {normalize_text(str(r["text"])) for r in rows}
        if len(texts) != 1:
            raise ReviewError(f"messages {ids} say different things ({len(texts)} texts); answer each text on its own")
        text = texts.pop()
        intent = None if request.get("out_of_domain") else request.get("intent")
        if intent is None and not request.get("out_of_domain"):
            raise ReviewError(f"messages {ids}: give the intent they should have, or answer out of domain")
        if intent is not None and intent not in intents:
            raise ReviewError(f"the bot has no intent {intent!r}; its intents are {', '.join(intents)} "
                              "(a new intent needs its own examples in data/intents/ first)")
        markup = text
        if intent is not None:
            # Written to inline YAML, where brackets mark entities: check_markup refuses literal
            # ones. Out-of-domain answers go to a CSV, where a bracket is a character like any other.
            markup = check_markup(text, str(request.get("markup") or text), types)
        answers.append(Answer(text=text, intent=intent, markup=markup, message_ids=tuple(ids), reviewer=reviewer,
                              reviewed_at=now(), model_version=str(rows[0]["model_version"]), bot=bot))
    return answers
