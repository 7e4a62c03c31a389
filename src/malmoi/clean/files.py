"""``malmoi clean``'s files: read a bot with its conflicting duplicates, write the suspects, and
(``--apply``) write corrected intent files with a backup and a diff.

Nothing is edited silently: without ``--apply`` only the report is written (``BOT_DIR/clean/``
by default); with it, each moved utterance's row leaves the CSV of its given intent and is added,
unchanged (entity tags included), to the CSV of the suggested one. The files as they were go to
``backup-<time>/`` and a unified diff of every change to ``changes-<time>.diff``.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import time
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from malmoi.clean.cleaning import CleanResult, Suspect
from malmoi.clean.decisions import Decision, find_overlaps, propose
from malmoi.clean.entities import EntityCleanResult
from malmoi.data import load_bot, read_intent_file
from malmoi.data.schema import Example
from malmoi.data.transaction import FileTransaction, write_atomic
from malmoi.outputs import check_file, marked
from malmoi.settings import BotConfig

__all__ = [
    "AppliedChanges",
    "apply_suspects",
    "check_report_files",
    "load_for_cleaning",
    "write_entity_report",
    "write_report",
]

CSV_COLUMNS = ["rank", "p_wrong", "given", "suggested", "p_suggested", "times_checked", "conflict", "text",
               "source", "neighbours"]


def load_for_cleaning(bot_dir: str | os.PathLike[str]) -> tuple[BotConfig, list[Example], int]:
    """The bot's valid in-domain examples, conflicting duplicates included (every copy), and how
    many conflicting copies there are. Rows with errors of their own (bad tags...) are left out,
    as ``malmoi train --skip-invalid`` leaves them out; errors of the bot as a whole raise
    :class:`malmoi.DataError`."""
    config, data = load_bot(bot_dir, skip_invalid=True)
    left_out = {(p.file, p.line) for p in data.left_out}
    restored: list[Example] = []
    intents_dir = Path(bot_dir) / "data" / "intents"
    if left_out and intents_dir.is_dir():
        for path in sorted(intents_dir.iterdir()):
            if path.suffix.lower() not in (".csv", ".yaml", ".yml") or path.name.startswith("."):
                continue
            examples, _ = read_intent_file(path)
            restored += [e for e in examples if _location(e) in left_out]
    # Only copies left out for being under two intents come back; rows with other errors stay out.
    texts = defaultdict(set)
    for e in [*data.examples, *restored]:
        texts[e.text].add(e.intent)
    restored = [e for e in restored if len(texts[e.text]) > 1]
    return config, [*data.examples, *restored], len(restored)


# The one file of rows set aside: the row as it was, then what a person needs to put it back.
SET_ASIDE_COLUMNS = ("question", "label", "intent", "suggested", "p_suggested", "source")
ENTITY_CSV_COLUMNS = ["rank", "p_wrong", "kinds", "text", "given", "suggested", "times_checked", "intent", "source"]


def write_entity_report(result: EntityCleanResult, out_dir: Path) -> tuple[Path, Path]:
    """``entity_suspects.csv`` and ``entity_suspects.json``: utterances whose entity tags are in
    doubt, spans as ``[value](TYPE)``; returns both paths."""
    rows = [[s.rank, f"{s.p_wrong:.4f}", "; ".join(s.kinds), s.text,
             " ".join(f"[{e.value}]({e.type})" for e in s.given),
             " ".join(f"[{e.value}]({e.type})" for e in s.suggested), s.times_checked, s.intent or "", s.source]
            for s in result.suspects]
    report = {"summary": result.summary(), "suspects": [s.to_dict() for s in result.suspects]}
    return _write_suspects(out_dir, "entity_suspects", ENTITY_CSV_COLUMNS, rows, report)


def _write_suspects(out_dir: Path, stem: str, columns: Sequence[str], rows: list[list[Any]],
                    report: dict[str, Any]) -> tuple[Path, Path]:
    """``<stem>.csv`` (one row a suspect, for a spreadsheet) and ``<stem>.json`` (marked as malmoi's
    output), each written atomically; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.json"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    write_atomic(csv_path, buffer.getvalue())
    write_atomic(json_path, json.dumps(marked(report), ensure_ascii=False, indent=2) + "\n")
    return csv_path, json_path


def _location(example: Example) -> tuple[str, int | None]:
    file, _, line = example.source.rpartition(":")
    return file, int(line) if line.isdigit() else None


def write_report(result: CleanResult, out_dir: Path, *, confident: float = 0.9) -> tuple[Path, Path]:
    """``suspects.csv`` (one row a suspect, for a spreadsheet) and ``suspects.json`` (with the run's
    summary, each suspect's proposed ``decision`` for a reviewer to edit, and the overlapping intent
    pairs); returns both paths."""
    rows = [[s.rank, f"{s.p_wrong:.4f}", s.given, s.suggested, f"{s.p_suggested:.4f}", s.times_checked,
             s.conflict, s.text, s.source,
             " | ".join(f"{n.text} ({n.intent}, {n.similarity:.2f})" for n in s.neighbours)]
            for s in result.suspects]
    report = {
        "summary": result.summary(),
        "confident": confident,
        "decisions": "move: to `suggested` (any intent of the bot) | set_aside: out of the training data, "
                     "for review | keep: no change. Apply this list with `malmoi clean BOT_DIR --apply THIS_FILE`.",
        "suspects": [{**s.to_dict(), "decision": d} for s, d in propose(result.suspects, confident)],
        "overlaps": [o.to_dict() for o in find_overlaps(result.suspects, confident)],
    }
    return _write_suspects(out_dir, "suspects", CSV_COLUMNS, rows, report)


@dataclass
class AppliedChanges:
    moved: list[Suspect]  # rows moved to their suggested intent's file
    removed: list[Suspect]  # conflicting copies deleted (the text stays under the suggested intent)
    skipped: list[tuple[Suspect, str]]  # suspects not changed, and why
    backup: Path | None
    diff: Path | None
    set_aside: list[Suspect] = field(default_factory=list)  # rows moved out of the data, for review
    set_aside_file: Path | None = None
    kept: list[Suspect] = field(default_factory=list)  # decided `keep`: left where they are


def apply_suspects(bot_dir: str | os.PathLike[str], suspects: list[Suspect], out_dir: Path, *,
                   confident: float = 0.0) -> AppliedChanges:
    """Apply what :func:`malmoi.clean.decisions.propose` decides for ``suspects``: move a suspect whose
    suggestion's probability reaches ``confident``, keep those between overlapping intents, set the
    others aside (:func:`apply_decisions`)."""
    return apply_decisions(bot_dir, propose(suspects, confident), out_dir)


def apply_decisions(bot_dir: str | os.PathLike[str], decisions: list[tuple[Suspect, Decision]],
                    out_dir: Path) -> AppliedChanges:
    """Apply one decision per suspect: ``move`` its row to the CSV of its ``suggested`` intent,
    ``set_aside`` its row out of the training data into one file ``out_dir/set-aside-<time>.csv``
    (its columns, then the intent it had, the suggestion and where it came from, for a person to put
    back or move), or ``keep`` it. A conflicting copy whose text is already under the suggested intent
    is deleted instead of moved or set aside. Every changed file as it was goes to
    ``out_dir/backup-<time>/`` and every change to ``out_dir/changes-<time>.diff``, a diff that
    ``patch -p1`` applies from the bot directory.

    All of it is one change (:class:`malmoi.data.transaction.FileTransaction`): killed at any
    moment, the bot holds every edit or none, and the next command that reads it finishes or
    undoes the change. Two applies on one bot run one after the other.

    Only Kochat CSV intent files (``data/intents/<intent>.csv``) are edited; a suspect from a YAML
    file is listed in ``skipped`` for a person to fix.
    """
    bot = Path(bot_dir)
    with FileTransaction(bot_dir, note="malmoi clean --apply") as change:
        plan = _plan(bot / "data" / "intents", decisions)
        if not plan.drop:
            return AppliedChanges(plan.moved, plan.removed, plan.skipped, None, None, kept=plan.kept)
        stamp = _unused_stamp(out_dir)
        backup = out_dir / f"backup-{stamp}"
        diff_path = out_dir / f"changes-{stamp}.diff"
        aside_file = out_dir / f"set-aside-{stamp}.csv" if plan.aside else None
        backup.mkdir(parents=True, exist_ok=True)
        files: dict[Path, str | bytes | None] = {}
        diff: list[str] = []
        for path in sorted(set(plan.drop) | set(plan.append)):
            lines = [line for number, line in enumerate(plan.read(path), 1) if number not in plan.drop[path]]
            if plan.append[path] and lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            text = files[path] = "".join(lines + plan.append[path])
            if path.exists():
                files[backup / path.name] = path.read_bytes()
            name = _bot_relative(path, bot)
            diff += difflib.unified_diff(plan.originals[path].splitlines(keepends=True),
                                         text.splitlines(keepends=True), f"a/{name}", f"b/{name}")
        files[diff_path] = "".join(diff)
        if aside_file is not None:
            files[aside_file] = _csv_line([*SET_ASIDE_COLUMNS]) + "".join(plan.aside)
        change.commit(files, backup=backup)
    return AppliedChanges(plan.moved, plan.removed, plan.skipped, backup, diff_path, plan.set_aside, aside_file,
                          plan.kept)


def _bot_relative(path: Path, bot: Path) -> str:
    """``data/intents/x.csv``: a path as the bot directory names it, for ``patch -p1`` run there."""
    try:
        return path.resolve().relative_to(bot.resolve()).as_posix()
    except ValueError:
        return path.name


def _unused_stamp(out_dir: Path) -> str:
    """The time, made unique in ``out_dir`` (two applies in one second keep both backups)."""
    stamp = base = time.strftime("%Y%m%d-%H%M%S")
    count = 1
    while (out_dir / f"backup-{stamp}").exists():
        count += 1
        stamp = f"{base}-{count}"
    return stamp


@dataclass
class _Plan:
    """What :func:`apply_suspects` changes, read from the intent files."""

    originals: dict[Path, str] = field(default_factory=dict)
    lines_of: dict[Path, list[str]] = field(default_factory=dict)
    drop: dict[Path, set[int]] = field(default_factory=lambda: defaultdict(set))
    append: dict[Path, list[str]] = field(default_factory=lambda: defaultdict(list))
    aside: list[str] = field(default_factory=list)  # rows of the set-aside file
    moved: list[Suspect] = field(default_factory=list)
    removed: list[Suspect] = field(default_factory=list)
    set_aside: list[Suspect] = field(default_factory=list)
    kept: list[Suspect] = field(default_factory=list)
    skipped: list[tuple[Suspect, str]] = field(default_factory=list)

    def read(self, path: Path) -> list[str]:
        if path not in self.lines_of:
            self.originals[path] = path.read_text(encoding="utf-8-sig") if path.exists() else ""
            self.lines_of[path] = self.originals[path].splitlines(keepends=True)
        return self.lines_of[path]


def _plan(intents_dir: Path, decisions: list[tuple[Suspect, Decision]]) -> _Plan:
    plan = _Plan()
    # copies that are themselves leaving their intent
    under_suggested = {(s.text, s.given) for s, decision in decisions if decision != "keep"}
    for s, decision in decisions:
        if decision == "keep":
            plan.kept.append(s)
            continue
        file, _, line_text = s.source.rpartition(":")
        source = Path(file)
        if source.suffix.lower() != ".csv" or source.parent.resolve() != intents_dir.resolve():
            plan.skipped.append((s, f"{source.name} is not a Kochat CSV intent file; move it by hand"))
            continue
        target = intents_dir / f"{s.suggested}.csv"
        if source.stem != s.given or (target.exists() and not target.is_file()):
            plan.skipped.append((s, f"cannot tell which file holds intent `{s.suggested}`; move it by hand"))
            continue
        lines = plan.read(source)
        start = int(line_text)
        record = _record(lines, start)
        if record is None:
            plan.skipped.append((s, f"{source}:{start} changed since it was read; run `malmoi clean` again"))
            continue
        end, row = record
        if not any(_same_text(field, s.text) for field in row):
            plan.skipped.append((s, f"{source}:{start} no longer holds `{s.text}`; run `malmoi clean` again"))
            continue
        plan.drop[source].update(range(start, end + 1))
        if s.conflict and (s.text, s.suggested) not in under_suggested:
            plan.removed.append(s)  # the same text is already under the suggested intent
            continue
        if decision == "set_aside":
            header = next(csv.reader([lines[0]])) if lines else ["question", "label"]
            fields = dict(zip((h.strip() for h in header), row))
            question, label = fields.get("question", s.text), fields.get("label", "")
            where = f"{_bot_relative(source, intents_dir.parent.parent)}:{start}"
            plan.aside.append(_csv_line([question, label, s.given, s.suggested, f"{s.p_suggested:.4f}", where]))
            plan.set_aside.append(s)
            continue
        target_lines = plan.read(target)
        if not target_lines:
            target_lines.append("question,label\n")
        plan.append[target].append(_csv_line(row))
        plan.moved.append(s)
    return plan


def _record(lines: list[str], start: int) -> tuple[int, list[str]] | None:
    """The CSV record starting at line ``start`` (1-based): its last line and its fields."""
    if not 1 <= start <= len(lines):
        return None
    for end in range(start, min(len(lines), start + 50) + 1):
        try:
            rows = list(csv.reader(io.StringIO("".join(lines[start - 1 : end]), newline="")))
        except csv.Error:
            continue
        if len(rows) == 1:
            return end, rows[0]
    return None


def _same_text(field: str, text: str) -> bool:
    return " ".join(unicodedata.normalize("NFC", field).split()) == " ".join(text.split())


def _csv_line(row: list[str]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


def check_report_files(out_dir: Path, *, entities: bool) -> None:
    """Refuse, before any work, to overwrite report files in ``out_dir`` that malmoi did not write."""
    if not out_dir.is_dir():
        return  # a new folder: nothing in it to overwrite (written once the analysis is done)
    check_file(out_dir / "suspects.csv", "--out", "csv", columns=CSV_COLUMNS)
    check_file(out_dir / "suspects.json", "--out", "suspects")
    if entities:
        check_file(out_dir / "entity_suspects.csv", "--out", "csv", columns=ENTITY_CSV_COLUMNS)
        check_file(out_dir / "entity_suspects.json", "--out", "suspects")
