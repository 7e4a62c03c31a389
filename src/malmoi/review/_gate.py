"""The gate before a model goes live (``malmoi.review.check_gate``): what it must get right, whatever its figures say.

* the bot's conversation tests (``BOT_DIR/test/conversations/*.yml``, :mod:`malmoi.dialogue.testing`):
  every one must pass;
* with ``reviewed=True`` (``malmoi retrain``), every reviewed utterance: answered as the reviewer
  answered it, an intent (not falling back) or out of domain (falling back). They come from the
  review log (``data/review-log.jsonl``) and from the files written from it
  (``data/intents/reviewed.yml``, ``data/ood/reviewed.csv``), so deleting the files does not
  delete the lesson.

``malmoi publish --data BOT_DIR`` and ``malmoi retrain`` call :func:`check_gate` before
:meth:`malmoi.bots.Registry.publish`, refuse a model that does not pass (exit 3, naming what
fails), and with ``--force --reason "..."`` publish anyway, recording :meth:`GateResult.record`
(the reason included) in the version's ``PUBLISHED.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from malmoi.data._reading import normalize_text
from malmoi.labels import FALLBACK
from malmoi.review._answers import INTENTS_FILE, OOD_FILE, ReviewLedger

__all__ = ["GateResult", "ReviewedMiss", "check_gate", "reviewed_answers"]

_SHOWN = 10  # failures named in one line; the rest are counted


@dataclass(frozen=True)
class ReviewedMiss:
    """A reviewed utterance the model does not answer as the reviewer did."""

    text: str
    expected: str  # the reviewer's intent, or `fallback` for out of domain
    got: str
    confidence: float

    def __str__(self) -> str:
        return f"{self.text!r}: reviewed as {self.expected}, answered {self.got} ({self.confidence:.2f})"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "reviewed": self.expected, "answered": self.got,
                "confidence": round(self.confidence, 4)}


@dataclass
class GateResult:
    conversations: Any = None  # a ConversationReport, or None when the bot has no conversation tests
    reviewed: int = 0  # reviewed utterances checked
    reviewed_misses: list[ReviewedMiss] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed_conversations and not self.reviewed_misses

    @property
    def failed_conversations(self) -> list[str]:
        return [] if self.conversations is None else self.conversations.failed_names()

    def reasons(self) -> list[str]:
        """One sentence per kind of failure, naming (the first of) what fails."""
        found = []
        if self.failed_conversations:
            names = self.failed_conversations
            found.append(f"{len(names)} conversation test(s) fail: {_some(names)}")
        if self.reviewed_misses:
            found.append(f"{len(self.reviewed_misses)} of {self.reviewed} reviewed utterance(s) are not answered as "
                         f"reviewed: {_some([str(m) for m in self.reviewed_misses])}")
        return found

    def summary(self) -> str:
        parts = []
        if self.conversations is not None:
            parts.append(self.conversations.summary())
        if self.reviewed:
            parts.append(f"{self.reviewed - len(self.reviewed_misses)} of {self.reviewed} reviewed utterance(s) "
                         "answered as reviewed")
        return "; ".join(parts) or "no conversation tests or reviewed utterances to check"

    def record(self, *, forced_reason: str | None = None) -> dict[str, Any]:
        """What a published version (``PUBLISHED.json``) and ``decision.json`` keep of the gate."""
        found: dict[str, Any] = {"passed": self.ok, "summary": self.summary()}
        if self.conversations is not None:
            found["conversations"] = {"total": len(self.conversations.results),
                                      "failed": self.failed_conversations}
        if self.reviewed:
            found["reviewed"] = {"total": self.reviewed, "not_answered_as_reviewed":
                                 [m.to_dict() for m in self.reviewed_misses]}
        if forced_reason is not None:
            found["forced"] = {"reason": forced_reason}
        return found


def _some(items: list[str]) -> str:
    more = len(items) - _SHOWN
    return "; ".join(items[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")


def reviewed_answers(bot_dir: str | os.PathLike[str]) -> dict[str, str | None]:
    """Each reviewed utterance (normalized) with the reviewer's intent (None: out of domain).

    The review log is what was answered; the files written from it add what a person put there by
    hand. Where both say something of one text, the log wins.
    """
    from malmoi.data._loading import load_intent_file, load_ood_file

    bot_dir = Path(bot_dir)
    found: dict[str, str | None] = {}
    if (bot_dir / INTENTS_FILE).is_file():
        found.update((normalize_text(e.text), e.intent) for e in load_intent_file(bot_dir / INTENTS_FILE))
    if (bot_dir / OOD_FILE).is_file():
        found.update((normalize_text(e.text), None) for e in load_ood_file(bot_dir / OOD_FILE))
    if (bot_dir / "bot.yaml").is_file():
        found.update((normalize_text(a.text), a.intent) for a in ReviewLedger(bot_dir).answers())
    return found


def check_gate(model: Any, bot_dir: str | os.PathLike[str], *, reviewed: bool = False) -> GateResult:
    """Run the gate of ``bot_dir`` (its conversation tests; with ``reviewed``, its reviewed utterances)
    against ``model``.

    Raises:
        DataError: a conversation file, or a reviewed data file, has errors.
        ReviewError: the review log is damaged.
    """
    from malmoi.data.conversations import conversations_dir
    from malmoi.dialogue.testing import run_conversation_tests

    result = GateResult()
    if conversations_dir(bot_dir).is_dir():
        result.conversations = run_conversation_tests(model, bot_dir)
    if reviewed:
        answers = reviewed_answers(bot_dir)
        texts = list(answers)
        result.reviewed = len(texts)
        for text, parse in zip(texts, model.parse_batch(texts) if texts else []):
            expected = answers[text] or FALLBACK
            got = FALLBACK if parse.fallback else parse.intent.name
            if got != expected:
                result.reviewed_misses.append(ReviewedMiss(text, expected, got, float(parse.intent.confidence)))
    return result
