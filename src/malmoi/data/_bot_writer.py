"""Writing a bot directory from imported data (:func:`write_bot`): what ``malmoi import`` writes,
with every change it had to make to the source data reported, never silent (see
:mod:`malmoi.data.importers` for the formats read)."""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from malmoi.data import tags as tagging
from malmoi.data.problems import DataError, Problem
from malmoi.data.schema import BotData, Entity, Example
from malmoi.outputs import check_folder, seal
from malmoi.settings import BotConfig

__all__ = ["IMPORTED_BOT", "NOTES_FILE", "ImportResult", "write_bot"]

NOTES_FILE = "IMPORT_NOTES.txt"
IMPORTED_BOT = "imported bot"  # the manifest kind of a bot directory that `malmoi import` wrote

@dataclass
class ImportResult:
    """What :func:`write_bot` wrote, and every change it made to the source data (warnings).

    ``data.left_out`` lists the source rows left out for errors of their own (Kochat data),
    ``notes`` every other change; both are in ``bot_dir/IMPORT_NOTES.txt`` too.
    """

    bot_dir: Path
    data: BotData
    notes: list[Problem] = field(default_factory=list)


# -- writing a bot directory ------------------------------------------------------------------


def write_bot(
    data: BotData,
    out: str | os.PathLike[str],
    *,
    name: str,
    language: str = "en",
    description: str = "",
    min_examples: int = 5,
    force: bool = False,
    source_notes: Sequence[Problem] = (),
) -> ImportResult:
    """Write ``data`` as a bot directory that :func:`malmoi.data.load_bot` accepts.

    Intents become ``data/intents/<intent>.csv`` in Kochat's format (``question,label`` with
    BIO tags per word; ``question`` only when no example has entities), out-of-domain
    utterances ``data/ood/ood.txt``. What cannot be loaded is left out and reported (see the
    module docstring). Entities must cover whole words. ``source_notes`` (a reader's warnings)
    come first in the notes; the rows in ``data.left_out`` and the notes are also written to
    ``IMPORT_NOTES.txt``.

    Raises:
        DataError: when ``out`` is not empty (and ``force`` is not set), when an entity cuts a
            word, or when no intent remains. Nothing is written then.
    """
    out = Path(out)
    errors: list[Problem] = []
    try:
        BotConfig(name=name, language=language, min_examples_per_intent=min_examples)
    except ValidationError as error:
        for detail in error.errors():
            key = ".".join(map(str, detail["loc"]))
            errors.append(Problem(str(out / "bot.yaml"), None, f"`{key}: {detail.get('input')!r}`",
                                  detail["msg"][0].lower() + detail["msg"][1:]))
    existing = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if out.exists() and not out.is_dir():
        errors.append(Problem(str(out), None, "a file", "a folder for the bot", "choose another --out"))
    elif existing and not force:
        errors.append(Problem(str(out), None, f"a folder that is not empty ({', '.join(existing[:5])})",
                              "a new or empty folder for the bot",
                              "choose another --out, or pass --force to replace an earlier import there"))
    elif existing:
        # --force replaces only an earlier import that nobody has edited since: anything else is someone's work.
        check_folder(out, IMPORTED_BOT, "--out", edited_ok=False, only=("bot.yaml", "data", NOTES_FILE))
    for example in data.examples:
        for entity in example.entities:
            if not _on_word_boundaries(example.text, entity):
                errors.append(Problem(*_file_line(example.source), f"the entity `{entity.value}` "
                                      f"({entity.type}) inside a word of `{example.text}`",
                                      "entities of whole words, as Kochat's CSV tags words"))
    notes: list[Problem] = list(source_notes)
    kept, ood = _clean(data, min_examples, notes)
    if not kept:
        errors.append(Problem(str(out), None, "no intent to write", "at least 1 intent",
                              "import more data, or lower --min-examples"))
    if errors:
        raise DataError(errors + notes)

    intents_dir, ood_dir = out / "data" / "intents", out / "data" / "ood"
    if force:
        for folder in (intents_dir, ood_dir):
            if folder.is_dir():
                shutil.rmtree(folder)
    intents_dir.mkdir(parents=True, exist_ok=True)
    entity_types = sorted({ent.type for e in kept for ent in e.entities})
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in kept:
        by_intent[example.intent].append(example)  # type: ignore[index]
    for intent, examples in sorted(by_intent.items()):
        with open(intents_dir / f"{intent}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["question", "label"] if entity_types else ["question"])
            for example in examples:
                if entity_types:
                    writer.writerow([example.text, " ".join(_word_tags(example))])
                else:
                    writer.writerow([example.text])
    if ood:
        ood_dir.mkdir(parents=True, exist_ok=True)
        (ood_dir / "ood.txt").write_text("".join(e.text + "\n" for e in ood), "utf-8")
    settings: dict[str, object] = {"name": name, "language": language}
    if description:
        settings["description"] = description
    settings["min_examples_per_intent"] = min_examples
    (out / "bot.yaml").write_text(
        yaml.safe_dump(settings, allow_unicode=True, sort_keys=False)
        + (yaml.safe_dump({"entities": entity_types}, allow_unicode=True, default_flow_style=None)
           if entity_types else ""),
        "utf-8",
    )
    _write_notes(out / NOTES_FILE, description, data.left_out, notes)
    seal(out, IMPORTED_BOT)  # what this import wrote, so that `--force` may replace it, and only it
    return ImportResult(out, BotData(kept, ood, list(data.left_out)), notes)


def _write_notes(path: Path, source: str, left_out: list[Problem], notes: list[Problem]) -> None:
    """The import's record of what it left out and changed, beside the bot it wrote."""
    if not left_out and not notes:
        path.unlink(missing_ok=True)  # from an earlier import into this folder (--force)
        return
    rows = len({(p.file, p.line) for p in left_out})
    lines = [f"# {source or 'imported data'}", ""]
    if left_out:
        header = (f"# {rows} source row(s) left out for errors of their own, each with its "
                  "file:line and reason; fix them in the source and import again to keep them.")
        lines += [header, *map(str, left_out), ""]
    if notes:
        lines += [f"# {len(notes)} change(s) so that malmoi can load the data.", *map(str, notes), ""]
    path.write_text("\n".join(lines), "utf-8")


def _clean(data: BotData, min_examples: int, notes: list[Problem]) -> tuple[list[Example], list[Example]]:
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in data.examples:
        groups[example.text].append(example)
    kept: list[Example] = []
    repeats = 0
    for text, copies in groups.items():
        intents = list(dict.fromkeys(e.intent for e in copies))
        if len(intents) > 1:
            for copy in copies:  # one note per left-out row, each with its own line
                others = "; ".join(f"`{i}` at {next(e.source for e in copies if e.intent == i)}"
                                   for i in intents if i != copy.intent)
                notes.append(Problem(*_file_line(copy.source),
                                     f"`{text}` under intent `{copy.intent}`, and under {others}",
                                     "each utterance under one intent",
                                     "left out every copy: which intent is right is unknown",
                                     "warning"))
            continue
        first = copies[0]
        kept.append(first)
        for other in copies[1:]:
            if other.entities == first.entities:
                repeats += 1
            else:
                notes.append(Problem(*_file_line(other.source),
                                     f"`{text}` with other entities than at {first.source}",
                                     "the same entities each time an utterance appears",
                                     "kept the first, left this one out", "warning"))
    if repeats:
        notes.append(Problem(_common_file(data.examples), None, f"{repeats} repeated utterance(s)",
                             "each utterance once", "wrote each once; a repeat only weighs it more",
                             "warning"))
    counts: dict[str, int] = defaultdict(int)
    for example in kept:
        counts[example.intent] += 1  # type: ignore[index]
    for intent, count in sorted(counts.items()):
        if count < min_examples:
            notes.append(Problem(_common_file(data.examples), None, f"{count} example(s) of the intent `{intent}`",
                                 f"at least {min_examples} (--min-examples)",
                                 "left the intent out; lower --min-examples to keep it", "warning"))
    kept = [e for e in kept if counts[e.intent] >= min_examples]  # type: ignore[index]
    ood: list[Example] = []
    for example in data.ood:
        if example.text in groups:
            notes.append(Problem(*_file_line(example.source), f"the out-of-domain utterance `{example.text}` "
                                 f"also under an intent at {groups[example.text][0].source}",
                                 "out-of-domain utterances that no intent has",
                                 "left it out of data/ood", "warning"))
        else:
            ood.append(example)
    return kept, ood


def _word_tags(example: Example) -> list[str]:
    starts = [m.start() for m in re.finditer(r"\S+", example.text)]
    spans = []
    for entity in example.entities:
        first = starts.index(entity.start)
        last = max(i for i, s in enumerate(starts) if s < entity.end)
        spans.append((first, last, entity.type))
    return tagging.word_spans_to_tags(spans, len(starts), "BIO")


def _on_word_boundaries(text: str, entity: Entity) -> bool:
    return (
        (entity.start == 0 or text[entity.start - 1] == " ")
        and (entity.end == len(text) or text[entity.end] == " ")
        and text[entity.start : entity.end] == entity.value
    )


def _file_line(source: str) -> tuple[str, int | None]:
    """``"path:12"`` -> ``("path", 12)``; other sources (``path:train[3]``) keep no line."""
    file, _, line = source.rpartition(":")
    return (file, int(line)) if file and line.isdigit() else (source, None)


def _common_file(examples: Iterable[Example]) -> str:
    files = {_file_line(e.source)[0] for e in examples}
    files = {f.rpartition(":")[0] or f for f in files}  # path:train[3] -> path
    return os.path.commonpath(sorted(files)) if files else ""
