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
import shutil
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from malmoi.clean.cleaning import CleanResult, Suspect
from malmoi.clean.entities import EntityCleanResult
from malmoi.data import load_bot, read_intent_file
from malmoi.data.schema import Example
from malmoi.settings import BotConfig

__all__ = ["AppliedChanges", "apply_suspects", "load_for_cleaning", "write_entity_report", "write_report"]

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


ENTITY_CSV_COLUMNS = ["rank", "p_wrong", "kinds", "text", "given", "suggested", "times_checked", "intent", "source"]


def write_entity_report(result: EntityCleanResult, out_dir: Path) -> tuple[Path, Path]:
    """``entity_suspects.csv`` and ``entity_suspects.json``: utterances whose entity tags are in
    doubt, spans as ``[value](TYPE)``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / "entity_suspects.csv", out_dir / "entity_suspects.json"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(ENTITY_CSV_COLUMNS)
    for s in result.suspects:
        writer.writerow([s.rank, f"{s.p_wrong:.4f}", "; ".join(s.kinds), s.text,
                         " ".join(f"[{e.value}]({e.type})" for e in s.given),
                         " ".join(f"[{e.value}]({e.type})" for e in s.suggested), s.times_checked, s.intent or "",
                         s.source])
    _write_atomic(csv_path, buffer.getvalue())
    report = {"summary": result.summary(), "suspects": [s.to_dict() for s in result.suspects]}
    _write_atomic(json_path, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return csv_path, json_path


def _location(example: Example) -> tuple[str, int | None]:
    file, _, line = example.source.rpartition(":")
    return file, int(line) if line.isdigit() else None


def write_report(result: CleanResult, out_dir: Path) -> tuple[Path, Path]:
    """``suspects.csv`` (one row a suspect, for a spreadsheet) and ``suspects.json`` (with the
    run's settings and rounds); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / "suspects.csv", out_dir / "suspects.json"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for s in result.suspects:
        near = " | ".join(f"{n.text} ({n.intent}, {n.similarity:.2f})" for n in s.neighbours)
        writer.writerow([s.rank, f"{s.p_wrong:.4f}", s.given, s.suggested, f"{s.p_suggested:.4f}",
                         s.times_checked, s.conflict, s.text, s.source, near])
    _write_atomic(csv_path, buffer.getvalue())
    report = {"summary": result.summary(), "suspects": [s.to_dict() for s in result.suspects]}
    _write_atomic(json_path, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return csv_path, json_path


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8", newline="")
    os.replace(temporary, path)


@dataclass
class AppliedChanges:
    moved: list[Suspect]  # rows moved to their suggested intent's file
    removed: list[Suspect]  # conflicting copies deleted (the text stays under the suggested intent)
    skipped: list[tuple[Suspect, str]]  # suspects not changed, and why
    backup: Path | None
    diff: Path | None
    set_aside: list[Suspect] = field(default_factory=list)  # rows moved out of the data, for review
    set_aside_dir: Path | None = None


def apply_suspects(bot_dir: str | os.PathLike[str], suspects: list[Suspect], out_dir: Path, *,
                   confident: float = 0.0) -> AppliedChanges:
    """Move each suspect's row to the CSV of its suggested intent when the suggestion's probability
    (``p_suggested``) reaches ``confident``; set the other suspects' rows aside, out of the training
    data, in ``out_dir/set-aside-<time>/<intent>.csv`` (same columns, for a person to put back or
    move). A conflicting copy whose text is already under the suggested intent is deleted instead.
    Before writing, every changed file is copied to ``out_dir/backup-<time>/`` and every change
    written to ``out_dir/changes-<time>.diff``.

    Only Kochat CSV intent files (``data/intents/<intent>.csv``) are edited; a suspect from a YAML
    file is listed in ``skipped`` for a person to fix.
    """
    intents_dir = Path(bot_dir) / "data" / "intents"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    originals: dict[Path, str] = {}
    lines_of: dict[Path, list[str]] = {}
    drop: dict[Path, set[int]] = defaultdict(set)
    append: dict[Path, list[str]] = defaultdict(list)
    moved: list[Suspect] = []
    removed: list[Suspect] = []
    skipped: list[tuple[Suspect, str]] = []
    under_suggested = {(s.text, s.given) for s in suspects}  # copies that are themselves moving away
    aside: dict[str, list[str]] = defaultdict(list)
    header: dict[str, str] = {}
    set_aside: list[Suspect] = []

    def read(path: Path) -> list[str]:
        if path not in lines_of:
            originals[path] = path.read_text(encoding="utf-8-sig") if path.exists() else ""
            lines_of[path] = originals[path].splitlines(keepends=True)
        return lines_of[path]

    for s in suspects:
        file, _, line_text = s.source.rpartition(":")
        source = Path(file)
        if source.suffix.lower() != ".csv" or source.parent.resolve() != intents_dir.resolve():
            skipped.append((s, f"{source.name} is not a Kochat CSV intent file; move it by hand"))
            continue
        target = intents_dir / f"{s.suggested}.csv"
        if source.stem != s.given or (target.exists() and not target.is_file()):
            skipped.append((s, f"cannot tell which file holds intent `{s.suggested}`; move it by hand"))
            continue
        lines = read(source)
        start = int(line_text)
        record = _record(lines, start)
        if record is None:
            skipped.append((s, f"{source}:{start} changed since it was read; run `malmoi clean` again"))
            continue
        end, row = record
        if not any(_same_text(field, s.text) for field in row):
            skipped.append((s, f"{source}:{start} no longer holds `{s.text}`; run `malmoi clean` again"))
            continue
        drop[source].update(range(start, end + 1))
        if s.conflict and (s.text, s.suggested) not in under_suggested:
            removed.append(s)  # the same text is already under the suggested intent
            continue
        if s.p_suggested < confident:
            aside[source.name].append(_csv_line(row))
            header.setdefault(source.name, lines[0] if lines else "question,label\n")
            set_aside.append(s)
            continue
        target_lines = read(target)
        if not target_lines:
            target_lines.append("question,label\n")
        append[target].append(_csv_line(row))
        moved.append(s)

    if not drop:
        return AppliedChanges(moved, removed, skipped, None, None)
    backup = out_dir / f"backup-{stamp}"
    diff_path = out_dir / f"changes-{stamp}.diff"
    backup.mkdir(parents=True, exist_ok=True)
    new_text: dict[Path, str] = {}
    for path in sorted(set(drop) | set(append)):
        lines = [line for number, line in enumerate(read(path), 1) if number not in drop[path]]
        if append[path] and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        new_text[path] = "".join(lines + append[path])
    diff: list[str] = []
    for path, text in new_text.items():
        if path.exists():
            shutil.copy2(path, backup / path.name)
        diff += difflib.unified_diff(originals[path].splitlines(keepends=True), text.splitlines(keepends=True),
                                     f"a/{path.name}", f"b/{path.name}")
    _write_atomic(diff_path, "".join(diff))
    aside_dir = out_dir / f"set-aside-{stamp}" if aside else None
    for name, rows in aside.items():
        assert aside_dir is not None
        aside_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(aside_dir / name, header[name] + "".join(rows))
    for path, text in new_text.items():
        _write_atomic(path, text)
    return AppliedChanges(moved, removed, skipped, backup, diff_path, set_aside, aside_dir)


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
