"""From live traffic back to data: review the messages a bot was unsure of, write the answers
into its data files, retrain, and publish only what does not regress.

    >>> from malmoi.review import ReviewLedger, review_groups, answers_from_requests
    >>> groups = review_groups(store, model, bot="shop", ledger=ReviewLedger("shop-bot"))   # doctest: +SKIP
    >>> ledger.record(answers_from_requests(store, model, "shop", [{"message_ids": [12], "intent": "order"}],
    ...                                     reviewer="alice"))                               # doctest: +SKIP

``malmoi review`` and the review page of ``malmoi serve`` use these; ``malmoi retrain``
uses :func:`malmoi.review.retrain`.
"""

from malmoi.review._answers import INTENTS_FILE, LEDGER, OOD_FILE, Answer, ReviewError, ReviewLedger, markup_of
from malmoi.review._queue import DEFAULT_BELOW, DEFAULT_SIMILARITY, ReviewGroup, ReviewItem
from malmoi.review._retrain import Check, RetrainResult, regressions, retrain
from malmoi.review._review import (
    answers_from_requests,
    groups_from_results,
    pending_for,
    review_groups,
)

__all__ = [
    "DEFAULT_BELOW",
    "DEFAULT_SIMILARITY",
    "INTENTS_FILE",
    "LEDGER",
    "OOD_FILE",
    "Answer",
    "Check",
    "RetrainResult",
    "ReviewError",
    "ReviewGroup",
    "ReviewItem",
    "ReviewLedger",
    "answers_from_requests",
    "groups_from_results",
    "markup_of",
    "pending_for",
    "regressions",
    "retrain",
    "review_groups",
]
