"""Reviewers' answers, written into the bot's data files with their provenance.

Every answer is one line of ``data/review-log.jsonl`` (the record of what was added: message ids,
text, answer, reviewer, time, the model version that parsed the message). The two data files are
written from that log, whole, after each answer:

* ``data/intents/reviewed.yml``: inline YAML (docs/bot-format.md), one comment of provenance above
  each utterance;
* ``data/ood/reviewed.csv``: ``question`` and the provenance columns, which the loader ignores.

The log and the two files change together, all or none, even if the process is killed halfway
(:class:`malmoi.data.transaction.FileTransaction`; the next command that reads the bot directory
finishes or undoes such a change). Nothing is edited silently: before writing, each file must be
what the log says was written (or absent: it is then written again from the log); a file edited
by hand is refused, with the fix. An answer that would make the bot's data invalid (an utterance
already under another intent, an unknown entity type) is refused and nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from malmoi.data import validate_bot
from malmoi.data._inline_yaml import MarkupError, parse_markup
from malmoi.data._reading import normalize_text
from malmoi.data.transaction import FileTransaction, TransactionError

__all__ = ["INTENTS_FILE", "LEDGER", "OOD_FILE", "Answer", "ReviewError", "ReviewLedger", "markup_of"]

LEDGER = Path("data") / "review-log.jsonl"
INTENTS_FILE = Path("data") / "intents" / "reviewed.yml"
OOD_FILE = Path("data") / "ood" / "reviewed.csv"
_OOD_COLUMNS = ["question", "message_ids", "reviewed_at", "reviewer", "model_version"]


class ReviewError(Exception):
    """An answer that cannot be written; the message says why and what to do.

    ``code`` names the kind for the server's JSON errors: ``invalid_answer`` (422),
    ``already_reviewed`` and ``data_file_edited`` (409), ``no_test_data``.
    """

    def __init__(self, message: str, code: str = "invalid_answer"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Answer:
    """One reviewed text: its intent with entities as inline markup, or out of domain (``intent`` None)."""

    text: str
    intent: str | None
    markup: str
    message_ids: tuple[int, ...]
    reviewer: str
    reviewed_at: str
    model_version: str
    bot: str

    @property
    def out_of_domain(self) -> bool:
        return self.intent is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message_ids": list(self.message_ids), "out_of_domain": self.out_of_domain}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        return cls(text=str(data["text"]), intent=data.get("intent"), markup=str(data.get("markup") or data["text"]),
                   message_ids=tuple(int(i) for i in data.get("message_ids", [])), reviewer=str(data["reviewer"]),
                   reviewed_at=str(data["reviewed_at"]), model_version=str(data.get("model_version", "")),
                   bot=str(data.get("bot", "")))


def markup_of(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with entity spans ``(start, end, type)`` written as ``[value](TYPE)``.

    >>> markup_of("내일 서울 날씨", [(3, 5, "LOCATION")])
    '내일 [서울](LOCATION) 날씨'
    """
    out, position = [], 0
    for start, end, type_ in sorted(spans):
        if start < position:  # overlapping spans cannot be written inline; the first one wins
            continue
        out += [text[position:start], f"[{text[start:end]}]({type_})"]
        position = end
    out.append(text[position:])
    return "".join(out)


def check_markup(text: str, markup: str, entity_types: Iterable[str] | None) -> str:
    """The markup, checked: it must mark entities of ``text`` itself, of known types."""
    if "[" in text or "]" in text:
        # Inline YAML has no escape for a bracket (docs/bot-format.md): any [ or ] marks an entity.
        raise ReviewError(f"{text!r} has a literal [ or ]: inline YAML reads brackets as entities; "
                          "add this utterance to a CSV file in data/intents/ by hand")
    try:
        plain, spans = parse_markup(normalize_text(markup))
    except MarkupError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise ReviewError(f"the entities {markup!r}: found {exc.found}; expected {exc.expected}{hint}") from None
    if normalize_text(plain) != normalize_text(text):
        raise ReviewError(f"the entities {markup!r} change the message's text {text!r}: mark entities with "
                          "[value](TYPE) around its own words, without editing them")
    known = set(entity_types) if entity_types is not None else None
    for _, _, type_, written in spans:
        if known is not None and type_ not in known:
            raise ReviewError(f"{written}: the bot has no entity type {type_!r}; its types are "
                              f"{', '.join(sorted(known)) or 'none'}")
    return normalize_text(markup)


def _sha256_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _quoted(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: any text, brackets and `: ` included.
    return json.dumps(value, ensure_ascii=False)


def _provenance(answer: Answer) -> str:
    ids = ", ".join(str(i) for i in answer.message_ids)
    return (f"message {ids}; {answer.reviewed_at}; reviewer {answer.reviewer}; "
            f"model {answer.model_version or '?'}").replace("\n", " ")


def render_intents(answers: Sequence[Answer]) -> str | None:
    """``data/intents/reviewed.yml`` for these answers (None when none has an intent)."""
    by_intent: dict[str, list[Answer]] = {}
    for answer in answers:
        if answer.intent is not None:
            by_intent.setdefault(answer.intent, []).append(answer)
    if not by_intent:
        return None
    lines = ["# Written by `malmoi review` from data/review-log.jsonl, which records every answer.",
             "# Written again after each answer: do not edit; move an utterance to another file to change it.",
             "intents:"]
    for intent in sorted(by_intent):
        lines.append(f"  {_quoted(intent)}:")
        for answer in by_intent[intent]:
            lines += [f"    # {_provenance(answer)}", f"    - {_quoted(answer.markup)}"]
    return "\n".join(lines) + "\n"


def render_ood(answers: Sequence[Answer]) -> str | None:
    """``data/ood/reviewed.csv`` for these answers (None when none is out of domain)."""
    rows = [a for a in answers if a.intent is None]
    if not rows:
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_OOD_COLUMNS)
    for a in rows:
        writer.writerow([a.text, " ".join(str(i) for i in a.message_ids), a.reviewed_at, a.reviewer, a.model_version])
    return buffer.getvalue()


class ReviewLedger:
    """The answers of one bot directory: ``data/review-log.jsonl`` and the files written from it.

    >>> ledger = ReviewLedger("mybot")                                   # doctest: +SKIP
    >>> ledger.record([answer])                                          # doctest: +SKIP
    >>> ledger.reviewed_texts()                                          # doctest: +SKIP
    {'우산 챙겨야 할까'}
    """

    def __init__(self, bot_dir: str | Path):
        self.bot_dir = Path(bot_dir)
        if not (self.bot_dir / "bot.yaml").is_file():
            raise ReviewError(f"{self.bot_dir} is not a bot directory (no bot.yaml): answers are written into "
                              "the data files of the bot directory the bot is trained from")
        self.path = self.bot_dir / LEDGER

    def answers(self) -> list[Answer]:
        if not self.path.is_file():
            return []
        found = []
        for number, line in enumerate(self.path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                found.append(Answer.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ReviewError(f"{self.path}:{number}: not an answer of `malmoi review` ({exc}); "
                                  "restore the file from a backup or version control") from None
        return found

    def reviewed_ids(self) -> set[int]:
        return {i for a in self.answers() for i in a.message_ids}

    def reviewed_texts(self) -> set[str]:
        return {normalize_text(a.text) for a in self.answers()}

    def record(self, answers: Sequence[Answer]) -> list[Path]:
        """Write ``answers`` into the data files and the log; returns the data files written.

        The log and the data files change together or not at all (one
        :class:`malmoi.data.transaction.FileTransaction`, which also keeps other writers out:
        the server and a ``malmoi review answer``), even if the process is killed.

        Raises:
            ReviewError: a file was edited by hand, a text is already reviewed, or the data
                would not be valid with the answers; nothing is written then.
        """
        if not answers:
            return []
        try:
            with FileTransaction(self.bot_dir, note="malmoi review") as change:
                before = self.answers()
                self._check_files(before)
                self._check_new(before, answers)
                return self._write_files(change, before, answers)
        except TransactionError as exc:
            raise ReviewError(str(exc), "busy") from None

    def _files(self, answers: Sequence[Answer]) -> list[tuple[Path, str | None]]:
        return [(self.bot_dir / INTENTS_FILE, render_intents(answers)), (self.bot_dir / OOD_FILE, render_ood(answers))]

    def _check_files(self, answers: Sequence[Answer]) -> None:
        for path, expected in self._files(answers):
            if not path.is_file():
                continue  # deleted: written again from the log
            if expected is None or _sha256_text(path.read_text("utf-8")) != _sha256_text(expected):
                raise ReviewError(
                    f"{path} is not what `malmoi review` wrote there (edited by hand, or written by something "
                    f"else); it is written again from {self.path} after each answer. Move your changes to another "
                    f"file in {path.parent}, delete {path}, and answer again", "data_file_edited"
                )

    def _check_new(self, before: Sequence[Answer], answers: Sequence[Answer]) -> None:
        done_ids = {i for a in before for i in a.message_ids}
        done_texts = {normalize_text(a.text): a for a in before}
        seen: set[str] = set()
        for answer in answers:
            key = normalize_text(answer.text)
            if key in done_texts or key in seen:
                earlier = done_texts.get(key)
                who = f" by {earlier.reviewer} at {earlier.reviewed_at}" if earlier else ""
                raise ReviewError(f"{answer.text!r} is already reviewed{who}; see {self.path}", "already_reviewed")
            if done_ids.intersection(answer.message_ids):
                raise ReviewError(f"message {sorted(done_ids.intersection(answer.message_ids))} is already reviewed; "
                                  f"see {self.path}", "already_reviewed")
            seen.add(key)

    def _write_files(self, change: FileTransaction, before: Sequence[Answer], answers: Sequence[Answer]) -> list[Path]:
        old_log = self.path.read_text("utf-8") if self.path.is_file() else None
        kept = old_log or ""
        if kept and not kept.endswith("\n"):
            kept += "\n"  # a log whose last line has no line break: the next answer starts a line of its own
        new_log = kept + "".join(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in answers)
        files = self._files([*before, *answers])
        old = {path: path.read_text("utf-8") if path.is_file() else None for path, _ in files}
        written = [path for path, text in files if text is not None and text != old[path]]
        known = {str(p) for p in validate_bot(self.bot_dir) if p.severity == "error"} if written else set()
        change.commit({self.path: new_log, **{path: text for path, text in files if path in written}})
        if not written:
            return written
        # Errors the answers brought: in the written files, or a copy elsewhere now conflicting.
        problems = [p for p in validate_bot(self.bot_dir) if p.severity == "error" and str(p) not in known]
        if problems:
            # Put the log and the files back as they were (a kill before this leaves the answers
            # written, and `malmoi validate` shows the conflict).
            change.commit({self.path: old_log, **{path: old[path] for path in written}})
            raise ReviewError("the answer would make the bot's data invalid, so nothing was written: "
                              + "; ".join(str(p) for p in problems[:3]))
        return written


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
