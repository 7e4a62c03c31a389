"""Import public NLU benchmarks into a malmoi bot directory, so anyone can reproduce a figure.

    malmoi import snips ../shared/data/snips --split train --out bots/snips-train
    malmoi import clinc150 ../shared/data/clinc150/data_full.json --split train --out bots/clinc-train

Three source formats:

- **SNIPS / ATIS folders** (Goo et al. 2018, github MiuLab/SlotGated-SLU): one folder per split
  (``train/``, ``valid/``, ``test/``) with three files in step, one utterance a line::

      seq.in   listen to westbam alumb allergic on google music
      seq.out  O O B-artist O B-album O B-service I-service
      label    PlayMusic

- **CLINC150 JSON** (Larson et al. 2019, ``data_full.json`` and its variants): per split a list
  of ``[text, intent]`` pairs. The intent ``oos`` and the lists named ``oos_<split>`` hold
  out-of-scope utterances; they become the bot's ``data/ood/``.

- **Kochat data folders** (github hyunwoongko/kochat, ``data/``): ``raw/<intent>.csv`` in
  Kochat's CSV format (``question,label``, one tag per word) and ``ood/*.csv`` of out-of-domain
  utterances. Unlike the benchmarks, Kochat's published demo data has rows the loader refuses
  (4 with invalid tag sequences, 26 utterances under two intents); they are left out, each
  listed with its file, line and reason, and the rest is imported.

Reading (:func:`read_snips`, :func:`read_clinc150`, :func:`read_kochat`) gives the examples as the
source has them, which is what a benchmark scores on. Writing (:func:`write_bot`) makes a bot that
:func:`malmoi.data.load_bot` accepts, and reports every change it had to make, never silently:

- an utterance under two intents cannot be learned either way: every copy is left out;
- repeats of an utterance (same intent) are written once; a repeat with other entities is left out;
- an out-of-domain utterance that is also an intent's example is left out of ``data/ood/``;
- an intent with fewer than ``min_examples`` examples is left out (the loader's own minimum).

Everything left out or changed is also written to ``IMPORT_NOTES.txt`` in the bot directory.

Entity types keep their names, dots included (ATIS's ``fromloc.city_name``); the rare one that
malmoi cannot name (``from-loc/city``) is renamed with ``_`` (``from_loc_city``), with a warning.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from malmoi.data import tags as tagging
from malmoi.data._bot_writer import IMPORTED_BOT, NOTES_FILE, ImportResult, write_bot
from malmoi.data._loading import data_files, read_data
from malmoi.data._ood import OOD_SUFFIXES
from malmoi.data._reading import (
    MAX_LINE_CHARS,
    did_you_mean,
    normalize_text,
    read_utf8,
    reserved_intent_problem,
    utterance_problem,
)
from malmoi.data.problems import DataError, Problem
from malmoi.data.schema import BotData, Entity, Example
from malmoi.settings import BotConfig

__all__ = [
    "IMPORTED_BOT", "NOTES_FILE", "ImportResult", "import_clinc150", "import_kochat", "import_snips",
    "read_clinc150", "read_kochat", "read_snips", "write_bot",
]

SEQ_FILES = ("seq.in", "seq.out", "label")
OOS_INTENT = "oos"  # CLINC150's out-of-scope label
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_SEQ_TAG_RE = re.compile(r"([BIESLU])-(\S+)")
# Split names differ between data sets (SNIPS valid, ATIS dev, CLINC150 val): try the others.
_SPLIT_ALIASES = {"valid": ("val", "dev"), "val": ("valid", "dev"), "dev": ("valid", "val")}


# -- SNIPS / ATIS ---------------------------------------------------------------------------


def read_snips(
    path: str | os.PathLike[str], splits: Sequence[str] = ("train",)
) -> tuple[BotData, list[Problem]]:
    """The examples of SNIPS/ATIS-style split folders, and every problem found.

    ``path`` holds one folder per split, or is itself a folder with ``seq.in``, ``seq.out``
    and ``label`` (then ``splits`` is not used). Never raises for bad data: lines with errors
    are left out and reported.

    >>> data, problems = read_snips("../shared/data/snips", ["test"])  # doctest: +SKIP
    >>> len(data.examples), data.examples[0].entities[0]  # doctest: +SKIP
    (700, Entity(start=4, end=19, type='object_type', value='television show'))
    """
    root = Path(path)
    problems: list[Problem] = []
    data = BotData()
    renamed: dict[str, str] = {}
    for folder in _split_folders(root, splits, problems):
        data.examples += _read_seq_folder(folder, problems, renamed)
    return data, problems


def _split_folders(root: Path, splits: Sequence[str], problems: list[Problem]) -> list[Path]:
    if not root.is_dir():
        found = "a file, not a folder" if root.exists() else "no such folder"
        problems.append(
            Problem(str(root), None, found, "a folder of splits (train/, valid/, test/), each with "
                    "the files seq.in, seq.out and label", "give the folder that holds the splits")
        )
        return []
    if (root / SEQ_FILES[0]).is_file():
        return [root]
    available = sorted(p.name for p in root.iterdir() if (p / SEQ_FILES[0]).is_file())
    folders = []
    for split in _unique(splits):
        folder = root / split
        if (folder / SEQ_FILES[0]).is_file() or folder.is_dir():
            folders.append(folder)
            continue
        problems.append(_unknown_split(str(root), split, available, "folder"))
    return folders


def _unknown_split(where: str, split: str, available: list[str], what: str) -> Problem:
    meant = next((a for a in _SPLIT_ALIASES.get(split, ()) if a in available), None)
    meant = meant or did_you_mean(split, available)
    hint = f"did you mean `--split {meant}`?" if meant else "pick one with `--split`"
    return Problem(
        where, None, f"no split `{split}`",
        f"one of the splits {', '.join(f'`{a}`' for a in available)}" if available
        else f"a {what} per split, named like `train`", hint,
    )


def _read_lines(path: Path, problems: list[Problem]) -> list[str] | None:
    if not path.is_file():
        problems.append(
            Problem(str(path), None, "no such file",
                    f"the three files {', '.join(SEQ_FILES)} in each split folder",
                    "SNIPS/ATIS keep words, tags and intents in separate files, one utterance a line")
        )
        return None
    text = read_utf8(path, problems)
    if text is None:
        return None
    lines = _LINE_BREAK_RE.split(text)
    while lines and not lines[-1].strip():  # the final line break, or blank lines at the end
        lines.pop()
    return lines


def _read_seq_folder(folder: Path, problems: list[Problem], renamed: dict[str, str]) -> list[Example]:
    paths = [folder / name for name in SEQ_FILES]
    words_lines, tag_lines, labels = [_read_lines(path, problems) for path in paths]  # each reports its problems
    if words_lines is None or tag_lines is None or labels is None:
        return []
    seq_in, seq_out, label_file = (str(p) for p in paths)
    if not len(words_lines) == len(tag_lines) == len(labels):
        problems.append(_line_count_problem(folder, words_lines, tag_lines, labels))
        return []
    scheme = tagging.detect_scheme(tag for line in tag_lines for tag in line.split())
    raw_types = {m[2] for line in tag_lines for tag in line.split() if (m := _SEQ_TAG_RE.fullmatch(tag))}
    known_types = {_entity_type(t) for t in raw_types}
    repaired: list[int] = []
    examples = []
    for number, (words_line, tag_line, label) in enumerate(zip(words_lines, tag_lines, labels), 1):
        text = normalize_text(words_line)
        intent = label.strip()
        words, tags = (text.split(" ") if text else []), tag_line.split()
        ok = True
        if not text:
            ok = False
            problems.append(Problem(seq_in, number, "an empty line", "the words of an utterance",
                                    f"delete line {number} from all three files, or write the utterance"))
        elif (junk := utterance_problem(text)) is not None:
            ok = False
            problems.append(Problem(seq_in, number, junk[0], "the words of an utterance", junk[1]))
        if not intent:
            ok = False
            problems.append(Problem(label_file, number, "an empty line", "the intent of the utterance "
                                    f"on line {number} of seq.in", "write its intent"))
        elif (intent_problem := _intent_name_problem(intent, label_file, number)) is not None:
            ok = False
            problems.append(intent_problem)
        if text and len(words) != len(tags):
            ok = False
            problems.append(
                Problem(seq_out, number,
                        f"{len(tags)} tag(s) `{' '.join(tags)}` for the {len(words)} word(s) `{text}` of seq.in",
                        "one tag per space-separated word",
                        "write `O` for each word outside an entity" if len(tags) < len(words)
                        else "remove the extra tags")
            )
        types = []
        for index, tag in enumerate(tags):
            if tag == "O":
                types.append(("O", ""))
                continue
            m = _SEQ_TAG_RE.fullmatch(tag)
            if m is None or m[1] not in tagging.PREFIXES[scheme]:
                ok = False
                on_word = f" on the word `{words[index]}`" if len(words) == len(tags) else ""
                prefixes = ", ".join(f"{p}-" for p in sorted(tagging.PREFIXES[scheme]))
                problems.append(
                    Problem(seq_out, number, f"the tag `{tag}`{on_word}",
                            f"`O` or PREFIX-TYPE, with PREFIX one of {prefixes} (this file is {scheme})",
                            tagging.malformed_tag_hint(tag, scheme, known_types))
                )
                continue
            type_ = _entity_type(m[2])
            if type_ != m[2] and m[2] not in renamed:
                renamed[m[2]] = type_
                problems.append(
                    Problem(seq_out, number, f"the entity type `{m[2]}`, which malmoi cannot name",
                            tagging.TYPE_RULE, f"imported as `{type_}`", "warning")
                )
            types.append((m[1], type_))
        if not ok:
            continue
        clean = [prefix if prefix == "O" else f"{prefix}-{type_}" for prefix, type_ in types]
        if tagging.check_tags(clean, scheme):
            repaired.append(number)
        examples.append(Example(text, intent, _word_entities(words, clean), f"{seq_in}:{number}"))
    if repaired:
        shown = ", ".join(map(str, repaired[:10])) + (", ..." if len(repaired) > 10 else "")
        problems.append(
            Problem(seq_out, repaired[0],
                    f"{len(repaired)} line(s) with an invalid tag sequence (lines {shown}), such as "
                    "`I-X` after `O`",
                    f"valid {scheme} sequences",
                    "read as conlleval reads them: an `I-X` that continues nothing starts an entity",
                    "warning")
        )
    return examples


def _line_count_problem(folder: Path, *files: list[str]) -> Problem:
    counts = ", ".join(f"{name} {len(lines)}" for name, lines in zip(SEQ_FILES, files))
    words_lines, tag_lines, _ = files
    first = next(
        (n for n, (w, t) in enumerate(zip(words_lines, tag_lines), 1) if len(w.split()) != len(t.split())),
        None,
    )
    hint = "line N of each file is one utterance; a missing or extra line shifts every line after it"
    if first is not None:
        hint += f"; seq.in and seq.out first disagree on line {first}, so look there"
    return Problem(str(folder), None, f"files of different lengths (lines: {counts})",
                   "the same number of lines in seq.in, seq.out and label", hint)


def _entity_type(name: str) -> str:
    """``name`` as a malmoi entity type: ``from-loc/city`` -> ``from_loc_city``."""
    if tagging.is_entity_type(name):
        return name
    cleaned = re.sub(r"[^\w.]", "_", name).strip(".")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    return cleaned if tagging.is_entity_type(cleaned) else "_" + cleaned


def _word_entities(words: list[str], tags: list[str]) -> tuple[Entity, ...]:
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    text = " ".join(words)
    entities = []
    for first, last, type_ in tagging.tags_to_word_spans(tags):
        start, end = starts[first], starts[last] + len(words[last])
        entities.append(Entity(start, end, type_, text[start:end]))
    return tuple(entities)


def _intent_name_problem(intent: str, file: str, line: int | None, where: str = "") -> Problem | None:
    """An intent becomes a file name, ``data/intents/<intent>.csv``: it must be a safe one, and
    not the reserved ``fallback``."""
    reserved = reserved_intent_problem(intent, file, line, where)
    if reserved is not None:
        return reserved
    if "/" in intent or "\\" in intent or "\0" in intent or intent.startswith(".") or len(intent.encode()) > 200:
        return Problem(file, line, f"the intent `{intent}`{where}",
                       "an intent name that can be a file name: no `/` or `\\`, not starting with `.`, "
                       "at most 200 bytes", "rename the intent")
    return None


# -- CLINC150 -------------------------------------------------------------------------------


def read_clinc150(
    path: str | os.PathLike[str], splits: Sequence[str] = ("train",)
) -> tuple[BotData, list[Problem]]:
    """The examples of CLINC150 JSON splits, and every problem found; ``oos`` goes to ``ood``.

    For each split ``s`` both the list ``s`` and the list ``oos_s`` are read (``data_full.json``
    keeps out-of-scope utterances apart; ``data_oos_plus.json`` and friends too). Never raises
    for bad data: items with errors are left out and reported.

    >>> data, _ = read_clinc150("../shared/data/clinc150/data_full.json")  # doctest: +SKIP
    >>> len(data.examples), len(data.ood)  # doctest: +SKIP
    (15000, 100)
    """
    path = Path(path)
    where = str(path)
    problems: list[Problem] = []
    data = BotData()
    if not path.is_file():
        found = "a folder, not a file" if path.is_dir() else "no such file"
        hint = f"did you mean {path / 'data_full.json'}?" if (path / "data_full.json").is_file() else ""
        problems.append(Problem(where, None, found, "CLINC150's JSON file, like data_full.json", hint))
        return data, problems
    text = read_utf8(path, problems, max_line_chars=None)  # JSON may come on one line
    if text is None:
        return data, problems
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(Problem(where, error.lineno, f"invalid JSON ({error.msg}, column {error.colno})",
                                "CLINC150's JSON: {\"train\": [[text, intent], ...], ...}"))
        return data, problems
    if not isinstance(document, dict):
        problems.append(Problem(where, None, f"a JSON {type(document).__name__} at the top level",
                                "an object of splits: {\"train\": [[text, intent], ...], ...}"))
        return data, problems
    available = sorted({key.removeprefix("oos_") for key in document})
    for split in _unique(splits):
        keys = [key for key in (split, f"oos_{split}") if key in document]
        if not keys:
            problems.append(_unknown_split(where, split, available, "list"))
        for key in keys:
            _read_clinc_list(where, key, document[key], data, problems)
    return data, problems


def _read_clinc_list(where: str, key: str, items: object, data: BotData, problems: list[Problem]) -> None:
    if not isinstance(items, list):
        problems.append(Problem(where, None, f"`{key}` is a JSON {type(items).__name__}",
                                "a list of [text, intent] pairs"))
        return
    for index, item in enumerate(items):
        at = f"{key}[{index}]"
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)):
            shown = json.dumps(item, ensure_ascii=False)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            problems.append(Problem(where, None, f"{shown} at {at}", "a pair of strings [text, intent]"))
            continue
        if len(item[0]) > MAX_LINE_CHARS:
            problems.append(Problem(where, None, f"a text of {len(item[0]):,} characters at {at}",
                                    f"texts of at most {MAX_LINE_CHARS:,} characters"))
            continue
        text, intent = normalize_text(item[0]), item[1].strip()
        if not text or not intent:
            empty = "text" if not text else "intent"
            problems.append(Problem(where, None, f"an empty {empty} at {at}", "[text, intent], neither empty"))
            continue
        if (junk := utterance_problem(text)) is not None:
            problems.append(Problem(where, None, f"{junk[0]} at {at}", "[text, intent]", junk[1]))
            continue
        source = f"{where}:{at}"
        if intent == OOS_INTENT or key.startswith("oos_"):
            data.ood.append(Example(text, None, (), source))
            continue
        problem = _intent_name_problem(intent, where, None, f" at {at}")
        if problem is not None:
            problems.append(problem)
            continue
        data.examples.append(Example(text, intent, (), source))


# -- Kochat ---------------------------------------------------------------------------------


def read_kochat(path: str | os.PathLike[str]) -> tuple[BotData, list[Problem]]:
    """The examples of a Kochat data folder, leaving out the rows with errors of their own.

    ``path`` holds ``raw/`` (one ``<intent>.csv`` per intent: ``question,label``) and optionally
    ``ood/`` (``.csv`` with a ``question`` column, or ``.txt``), as Kochat's ``data/`` folder
    does; ``path`` may also be the ``raw/`` folder itself. Every row that ``load_bot`` would
    refuse on its own account (a bad tag or tag sequence, an utterance filed under two intents:
    every copy, since neither label can be trusted) is left out and listed in
    ``data.left_out``; problems are the errors that concern whole files, and warnings.

    >>> data, problems = read_kochat("../shared/data/kochat-demo")  # doctest: +SKIP
    >>> len({(p.file, p.line) for p in data.left_out})  # doctest: +SKIP
    86
    """
    root = Path(path)
    problems: list[Problem] = []
    raw = root / "raw"
    if root.name == "raw" and not raw.is_dir():
        root, raw = root.parent, root
    if not raw.is_dir():
        found = "a file, not a folder" if root.is_file() else (
            "no such folder" if not root.exists() else "a folder without raw/")
        problems.append(
            Problem(str(root), None, found,
                    "Kochat's data folder: raw/<intent>.csv (question,label) and, optionally, ood/",
                    "give the folder that holds raw/ (Kochat's `data/`)")
        )
        return BotData(), problems
    intent_files = data_files(raw, (".csv",), problems)
    ood_dir = root / "ood"
    ood_files = data_files(ood_dir, OOD_SUFFIXES, problems) if ood_dir.is_dir() else []
    # Any number of examples per intent here: write_bot applies --min-examples and says so.
    data = read_data(intent_files, ood_files, BotConfig.model_validate({"min_examples_per_intent": 1}), problems,
                     intents_dir=raw, config_file="", skip_invalid=True, repeats=False)
    return data, problems


def import_kochat(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    language: str = "ko",
    name: str | None = None,
    min_examples: int = 5,
    force: bool = False,
) -> ImportResult:
    """Read a Kochat data folder (:func:`read_kochat`) and write it as a bot directory.

    Rows with errors of their own are left out (``result.data.left_out``, and
    ``IMPORT_NOTES.txt`` in the bot). Raises :class:`DataError` (nothing written) when a whole
    file cannot be read.

    >>> result = import_kochat("../shared/data/kochat-demo", "bots/kochat")  # doctest: +SKIP
    >>> result.data.intents  # doctest: +SKIP
    ['dust', 'restaurant', 'travel', 'weather']
    """
    data, problems = read_kochat(path)
    if any(p.severity == "error" for p in problems):
        raise DataError(problems)
    source = Path(path)
    folder = source.resolve().name
    name = name or (folder if "kochat" in folder.lower() else f"kochat-{folder}")
    return write_bot(data, out, name=name, language=language,
                     description=f"Kochat data imported from {source}", min_examples=min_examples,
                     force=force, source_notes=problems)


# -- one call per format ----------------------------------------------------------------------


def import_snips(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    splits: Sequence[str] = ("train",),
    language: str = "en",
    name: str | None = None,
    min_examples: int = 5,
    force: bool = False,
) -> ImportResult:
    """Read SNIPS/ATIS-style split folders and write them as a bot directory.

    Raises :class:`DataError` (nothing written) when the source has errors.

    >>> import_snips("../shared/data/snips", "bots/snips-train").data.intents  # doctest: +SKIP
    ['AddToPlaylist', 'BookRestaurant', 'GetWeather', 'PlayMusic', 'RateBook', ...]
    """
    data, problems = read_snips(path, splits)
    name = name or f"{Path(path).name or 'snips'}-{'+'.join(_unique(splits))}"
    return _write_or_raise(data, problems, out, Path(path), "SNIPS/ATIS", splits, language, name,
                           min_examples, force)


def import_clinc150(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    splits: Sequence[str] = ("train",),
    language: str = "en",
    name: str | None = None,
    min_examples: int = 5,
    force: bool = False,
) -> ImportResult:
    """Read CLINC150 JSON splits and write them as a bot directory (``oos`` in ``data/ood``).

    Raises :class:`DataError` (nothing written) when the source has errors.
    """
    data, problems = read_clinc150(path, splits)
    name = name or f"clinc150-{'+'.join(_unique(splits))}"
    return _write_or_raise(data, problems, out, Path(path), "CLINC150", splits, language, name,
                           min_examples, force)


def _write_or_raise(
    data: BotData, problems: list[Problem], out: str | os.PathLike[str], source: Path, kind: str,
    splits: Sequence[str], language: str, name: str, min_examples: int, force: bool,
) -> ImportResult:
    if any(p.severity == "error" for p in problems):
        raise DataError(problems)
    description = f"{kind} split(s) {', '.join(_unique(splits))} imported from {source}"
    # The readers' warnings (renamed types, repaired tags) come first in the notes.
    return write_bot(data, out, name=name, language=language, description=description,
                     min_examples=min_examples, force=force, source_notes=problems)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
