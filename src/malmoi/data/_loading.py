"""Load a bot directory and check it whole: every problem in one pass, none as a traceback.

::

    BOT_DIR/
      bot.yaml                  name, language, entities, settings (malmoi.settings.BotConfig)
      data/intents/weather.csv  Kochat CSV: question,label (BIO/BIOES/BILOU tags per word)
      data/intents/more.yaml    inline: intents: {weather: ["[서울](LOCATION) 날씨"]}
      data/ood/*.csv|*.txt      out-of-domain utterances

File-level checks run in the readers; checks that need every file (duplicates across intents,
entity-type typos, examples per intent) run here.
"""

from __future__ import annotations

import difflib
import errno
import logging
import os
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

from malmoi.data._config import read_config
from malmoi.data._inline_yaml import read_intent_yaml
from malmoi.data._kochat_csv import read_intent_csv
from malmoi.data._ood import OOD_SUFFIXES, read_ood_file
from malmoi.data._reading import TypeUse, did_you_mean, reserved_intent_problem
from malmoi.data.problems import DataError, Problem
from malmoi.data.schema import REVIEWED_INTENTS_FILE, REVIEWED_OOD_FILE, REVIEWED_WEIGHT, BotData, Example
from malmoi.data.transaction import recover
from malmoi.settings import BotConfig

logger = logging.getLogger("malmoi")

_INTENT_SUFFIXES = (".csv", ".yaml", ".yml")
_MAX_LOGGED_WARNINGS = 20  # a big data set can have thousands of duplicate lines


def load_bot(
    bot_dir: str | os.PathLike[str], *, skip_invalid: bool = False
) -> tuple[BotConfig, BotData]:
    """Read and check a bot directory.

    Args:
        bot_dir: the bot directory (bot.yaml, data/intents/, data/ood/).
        skip_invalid: leave out every utterance with an error of its own (a bad tag, an
            invisible utterance, an undeclared entity type, an utterance under two intents:
            every copy of it) and load the rest; ``data.left_out`` lists each with its file,
            line and reason. Errors of a whole file or of bot.yaml still raise, and so does an
            intent left with fewer than ``min_examples_per_intent`` examples.

    Raises:
        DataError: if any problem is an error; it carries every problem found, not just the
            first. Warnings are logged to the ``malmoi`` logger.

    >>> config, data = load_bot("examples/demo-bot")  # doctest: +SKIP
    >>> data.intents  # doctest: +SKIP
    ['dust', 'greeting', 'restaurant', 'travel', 'weather']
    >>> _, data = load_bot("kochat-bot", skip_invalid=True)  # doctest: +SKIP
    >>> print(data.left_out[0])  # doctest: +SKIP
    kochat-bot/data/intents/dust.csv:2676: error: found `B-LOCATION` at word 3 not closed ...
    """
    config, data, problems = _read_bot(Path(bot_dir), skip_invalid=skip_invalid)
    _raise_or_log(problems)
    return config, data


def validate_bot(bot_dir: str | os.PathLike[str]) -> list[Problem]:
    """Every problem (errors and warnings) in a bot directory, sorted by file and line.

    Never raises for bad data: a missing directory or bot.yaml is a problem like any other.
    """
    return _read_bot(Path(bot_dir))[2]


def inspect_bot(bot_dir: str | os.PathLike[str]) -> tuple[BotConfig, BotData, list[Problem]]:
    """Like :func:`validate_bot`, with what could be read besides the problems (never raises for bad data)."""
    return _read_bot(Path(bot_dir))


def load_intent_file(path: str | os.PathLike[str]) -> list[Example]:
    """The examples of one intent file (a Kochat ``.csv`` named after its intent, or ``.yaml``).

    Useful for test sets kept in the training format. Raises :class:`DataError` on errors.
    """
    path = Path(path)
    problems: list[Problem] = []
    examples = _read_intent_file(path, problems, [])[0]
    _raise_or_log(problems)
    return examples


def read_intent_file(path: str | os.PathLike[str]) -> tuple[list[Example], list[Problem]]:
    """Like :func:`load_intent_file` but never raises: the examples of the rows without errors,
    and every problem found. For benchmarks on public data that carries a few bad rows, so
    they can report exactly what they left out."""
    problems: list[Problem] = []
    examples = _read_intent_file(Path(path), problems, [])[0]
    return examples, problems


def load_ood_file(path: str | os.PathLike[str]) -> list[Example]:
    """Out-of-domain examples (``intent=None``) from a ``.csv`` with a ``question`` column or a
    ``.txt`` with one utterance per line. Raises :class:`DataError` on errors."""
    problems: list[Problem] = []
    path = Path(path)
    if not path.is_file():
        problems.append(Problem(str(path), None, "no such file", "an OOD file"))
        examples = []
    else:
        examples = read_ood_file(path, problems)
    _raise_or_log(problems)
    return examples


def _raise_or_log(problems: list[Problem]) -> None:
    if any(p.severity == "error" for p in problems):
        raise DataError(problems)
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in warnings[:_MAX_LOGGED_WARNINGS]:
        logger.warning("%s", problem)
    if len(warnings) > _MAX_LOGGED_WARNINGS:
        logger.warning("... and %d more warnings; `malmoi validate` lists them all",
                       len(warnings) - _MAX_LOGGED_WARNINGS)


def read_dictionaries(folder: Path, problems: list[Problem]) -> dict[str, dict[str, str]]:
    """The dictionaries of ``data/entities`` as ``TYPE → {synonym's match key: canonical value}``;
    problems with file and line (:mod:`malmoi.entity.values.dictionary`)."""
    from malmoi.data._entities import load_dictionaries

    return {d.entity: {key: canonical for key, (canonical, _) in d.synonyms.items()}
            for d in load_dictionaries(folder, problems)}


def _read_bot(
    bot_dir: Path, *, skip_invalid: bool = False
) -> tuple[BotConfig, BotData, list[Problem]]:
    problems: list[Problem] = []
    if not bot_dir.is_dir():
        found = "a file, not a directory" if bot_dir.exists() else "no such directory"
        problems.append(
            Problem(str(bot_dir), None, found, "a bot directory with bot.yaml and data/",
                    "see docs/bot-format.md for the layout")
        )
        return BotConfig(), BotData(), problems
    # A change of several files that a killed command left (`malmoi clean --apply`...) is
    # finished or undone before anything is read.
    problems.extend(recover(bot_dir))
    config, declared_lines = read_config(bot_dir, problems)
    config.dictionaries = read_dictionaries(bot_dir / "data" / "entities", problems)
    # A type found by a pattern or a dictionary needs no examples.
    declared_lines = {name: line for name, line in declared_lines.items()
                      if name not in config.patterns and name not in config.dictionaries}
    intents_dir = bot_dir / "data" / "intents"
    intent_files: list[Path] | None = None
    if not intents_dir.is_dir():
        problems.append(_missing_intents_dir(intents_dir))
    else:
        intent_files = data_files(intents_dir, _INTENT_SUFFIXES, problems)
    ood_dir = bot_dir / "data" / "ood"
    ood_files = data_files(ood_dir, OOD_SUFFIXES, problems) if ood_dir.is_dir() else []
    data = read_data(intent_files, ood_files, config, problems, intents_dir=intents_dir,
                     config_file=str(bot_dir / "bot.yaml"), declared_lines=declared_lines,
                     skip_invalid=skip_invalid)
    return config, data, problems


def read_data(
    intent_files: list[Path] | None,
    ood_files: list[Path],
    config: BotConfig,
    problems: list[Problem],
    *,
    intents_dir: Path,
    config_file: str,
    declared_lines: dict[str, int] | None = None,
    skip_invalid: bool = False,
    repeats: bool = True,
) -> BotData:
    """The examples of intent and OOD files, checked across files; problems go to ``problems``,
    sorted by file and line. ``intent_files=None``: there is no intents folder (already
    reported). With ``skip_invalid``, skippable errors move from ``problems`` to
    ``data.left_out`` and their utterances are left out. ``repeats=False`` leaves out the
    warnings about an utterance repeated under one intent (the importers report those).
    Also reads Kochat's data folders (:func:`malmoi.data.importers.read_kochat`)."""
    examples: list[Example] = []
    uses: list[TypeUse] = []
    counts: dict[str, int] = {}  # rows per intent, valid or not, so one bad row can't cascade
    first_file: dict[str, str] = {}
    for path in intent_files or []:
        file_examples, file_counts = _read_intent_file(path, problems, uses)
        examples.extend(_weighed(path, file_examples))
        for intent, count in file_counts.items():
            counts[intent] = counts.get(intent, 0) + count
            first_file.setdefault(intent, str(path))
    ood: list[Example] = []
    for path in ood_files:
        ood.extend(_weighed(path, read_ood_file(path, problems)))

    _check_entity_types(uses, config, config_file, declared_lines or {}, problems)
    _check_duplicates(examples, ood, problems, every_copy=skip_invalid, repeats=repeats)
    left_out: list[Problem] = []
    if skip_invalid:
        left_out = [p for p in problems if p.severity == "error" and p.skippable]
        problems[:] = [p for p in problems if not (p.severity == "error" and p.skippable)]
        bad = {(p.file, p.line) for p in left_out}
        examples = [e for e in examples if _location(e) not in bad]
        ood = [e for e in ood if _location(e) not in bad]
    if intent_files is not None:
        kept = Counter(e.intent for e in examples if e.intent is not None)
        _check_intent_counts(counts, kept if skip_invalid else None, first_file, config,
                             intents_dir, problems)
        _check_intent_case(first_file, problems)
        if len([n for n in counts.values() if n]) == 1 and not ood and not ood_files:
            problems.append(
                Problem(str(intents_dir), None, "one intent and no out-of-domain utterances",
                        "utterances the bot should not answer, in data/ood/",
                        "a bot of one intent only decides when to fall back; out-of-domain "
                        "examples show it where its intent ends", "warning")
            )
    problems.sort(key=lambda p: (p.file, p.line or 0))
    left_out.sort(key=lambda p: (p.file, p.line or 0))
    return BotData(examples, ood, left_out)


def _weighed(path: Path, examples: list[Example]) -> list[Example]:
    """The examples of a reviewed file (``data/intents/reviewed.yml``, ``data/ood/reviewed.csv``)
    with their weight; the others as they are."""
    if not path.as_posix().endswith((REVIEWED_INTENTS_FILE, REVIEWED_OOD_FILE)):
        return examples
    return [replace(e, weight=REVIEWED_WEIGHT) for e in examples]


def _read_intent_file(
    path: Path, problems: list[Problem], uses: list[TypeUse]
) -> tuple[list[Example], dict[str, int]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reserved = reserved_intent_problem(path.stem, str(path), None, ", named by the file name")
        if reserved is not None:
            problems.append(replace(reserved, hint=reserved.hint.replace(
                "pick another name", "rename the file")))
            return [], {}
        examples, count = read_intent_csv(path, path.stem, problems, uses)
        return examples, {path.stem: count}
    if suffix in (".yaml", ".yml"):
        return read_intent_yaml(path, problems, uses)
    problems.append(
        Problem(str(path), None, f"a `{suffix}` file", "a `.csv`, `.yaml` or `.yml` file")
    )
    return [], {}


def data_files(folder: Path, suffixes: tuple[str, ...], problems: list[Problem]) -> list[Path]:
    """The files to read in ``folder``, sorted; anything else gets a warning (dotfiles none)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        problems.append(Problem(str(folder), None, f"an unreadable folder ({error.strerror})",
                                "a readable folder"))
        return []
    files = []
    for path in entries:
        if path.name.startswith((".", "~$")):  # .DS_Store, editor and Excel lock files
            continue
        if path.is_file() and path.suffix.lower() in suffixes:
            files.append(path)
            continue
        if path.is_symlink() and not path.exists():
            problems.append(_broken_link(path, path.suffix.lower() in suffixes))
            continue
        what = "a folder" if path.is_dir() else f"a `{path.suffix or path.name}` file"
        hint = "rename or move it; subfolders are not read"
        if path.suffix.lower() in (".xlsx", ".xls"):
            hint = "in Excel, save it with `Save As` > `CSV UTF-8`"
        problems.append(
            Problem(str(path), None, f"{what}, which is not read",
                    f"only {', '.join(f'`{s}`' for s in suffixes)} files in {folder.name}/",
                    hint, "warning")
        )
    return files


def _broken_link(path: Path, data_file: bool) -> Problem:
    """A symbolic link that leads nowhere: an error where a data file was meant."""
    try:
        path.stat()
        found = "a symbolic link that cannot be followed"
    except OSError as error:
        if error.errno == errno.ELOOP:
            found = "a symbolic link that loops (it leads back to itself)"
        else:
            found = f"a broken symbolic link to `{os.readlink(path)}`, which does not exist"
    return Problem(str(path), None, found, "a file, or a link to one",
                   "point the link at the real file, or delete it",
                   "error" if data_file else "warning")


def _missing_intents_dir(intents_dir: Path) -> Problem:
    hint = "put one `<intent>.csv` (question,label) or `.yaml` file per intent there"
    data_dir = intents_dir.parent
    if data_dir.is_dir():
        close = did_you_mean("intents", [p.name for p in data_dir.iterdir() if p.is_dir()], 0.7)
        if close and close != "intents":
            hint = f"rename `{data_dir / close}` to `{intents_dir}`"
    return Problem(
        str(intents_dir), None, "no data/intents folder", "a folder of intent files", hint
    )


def _check_entity_types(
    uses: list[TypeUse],
    config: BotConfig,
    config_file: str,
    declared_lines: dict[str, int],
    problems: list[Problem],
) -> None:
    counts = Counter(use.type for use in uses)
    # A dictionary's type (data/entities/CITY.csv) is declared by its file.
    declared = None if config.entities is None else [*config.entities, *config.dictionaries]
    # Per type: (what is expected of it, the type meant, hint) or None when it is fine.
    verdicts: dict[str, tuple[str, str | None, str] | None] = {}
    for type_ in counts:
        if declared is not None:
            if type_ in declared:
                verdicts[type_] = None
                continue
            close = did_you_mean(type_, declared, cutoff=0.7)
            verdicts[type_] = (
                f"one of the entity types declared in bot.yaml: {', '.join(declared) or 'none'}",
                close,
                f"{'or add' if close else 'add'} `{type_}` to `entities` in bot.yaml",
            )
        else:
            verdicts[type_] = _likely_typo(type_, counts)
    for use in uses:
        verdict = verdicts[use.type]
        if verdict is None:
            continue
        expected, meant, hint = verdict
        if meant is not None:
            head, _, tail = use.written.rpartition(use.type)
            hint = f"did you mean `{head}{meant}{tail}`? " + hint
        problems.append(
            Problem(use.file, use.line, f"the entity type `{use.type}` in `{use.written}`",
                    expected, hint, skippable=True)
        )
    for name, line in declared_lines.items():
        if name not in counts:
            problems.append(
                Problem(config_file, line, f"the entity type `{name}` declared but in no example",
                        "every declared type in some example",
                        "a tagger can't learn a type it never sees; add examples or remove it",
                        "warning")
            )


def _likely_typo(type_: str, counts: Counter[str]) -> tuple[str, str | None, str] | None:
    """A rare type spelled almost like a far more common one (``LOCATON`` beside ``LOCATION``)."""
    common = {t.lower(): t for t, n in counts.items() if t != type_ and n >= 5 * counts[type_]}
    close = difflib.get_close_matches(type_.lower(), list(common), n=1, cutoff=0.8)
    if not close:
        return None
    meant = common[close[0]]
    return (
        f"a known entity type: `{meant}` is used {counts[meant]} times, `{type_}` {counts[type_]}",
        meant,
        "if it really is another type, list every type in bot.yaml: `entities: [...]`",
    )


_CONFLICT_HINT = (
    "keep it under the intent it means and delete the other; conflicting labels are what label "
    "cleaning (`malmoi clean`, planned) is for, and `malmoi train --skip-invalid` leaves every "
    "copy out"
)


def _check_duplicates(
    examples: list[Example],
    ood: list[Example],
    problems: list[Problem],
    *,
    every_copy: bool = False,
    repeats: bool = True,
) -> None:
    """Repeats and conflicts. An utterance under two intents is an error on each later copy, or
    on every copy (``every_copy``, for skipping: neither label can be trusted). ``repeats``:
    also warn about repeats under one intent."""
    copies: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        copies[example.text].append(example)
    for text, group in copies.items():
        earlier = group[0]
        intents = list(dict.fromkeys(e.intent for e in group))
        if every_copy and len(intents) > 1:
            for example in group:
                others = "; ".join(
                    f"`{i}` at {next(e.source for e in group if e.intent == i)}"
                    for i in intents if i != example.intent
                )
                file, line = _location(example)
                problems.append(
                    Problem(file, line, f"`{text}` under intent `{example.intent}`, and under {others}",
                            "each utterance under one intent", _CONFLICT_HINT, skippable=True)
                )
            continue
        for example in group[1:]:
            file, line = _location(example)
            if earlier.intent != example.intent:
                problems.append(
                    Problem(file, line,
                            f"`{text}` under intent `{example.intent}`, and under "
                            f"`{earlier.intent}` at {earlier.source}",
                            "each utterance under one intent", _CONFLICT_HINT, skippable=True)
                )
            elif not repeats:
                continue
            elif earlier.entities != example.entities:
                problems.append(
                    Problem(file, line,
                            f"`{text}` labelled {_entities(example)} here but "
                            f"{_entities(earlier)} at {earlier.source}",
                            "the same entities each time an utterance appears",
                            "fix the wrong one, or delete one of them",
                            # Label noise rather than unlearnable data (Kochat's demo has some).
                            "warning")
                )
            else:
                problems.append(
                    Problem(file, line, f"`{text}` again (first at {earlier.source})",
                            "each utterance once",
                            "delete the repeat; it only weighs the utterance more",
                            "warning")
                )
    for example in ood:
        in_domain = copies.get(example.text)
        if in_domain:
            file, line = _location(example)
            problems.append(
                Problem(file, line,
                        f"the out-of-domain utterance `{example.text}` also under intent "
                        f"`{in_domain[0].intent}` at {in_domain[0].source}",
                        "out-of-domain utterances that no intent has",
                        "delete it from one of the two", skippable=True)
            )


def _entities(example: Example) -> str:
    return "[" + ", ".join(f"{e.value}:{e.type}" for e in example.entities) + "]"


def _location(example: Example) -> tuple[str, int | None]:
    file, _, line = example.source.rpartition(":")
    return file, int(line)


def _check_intent_counts(
    counts: dict[str, int],
    kept: Counter[str] | None,
    first_file: dict[str, str],
    config: BotConfig,
    intents_dir: Path,
    problems: list[Problem],
) -> None:
    """Enough examples per intent: of its rows, or (``kept``) of the rows left after skipping."""
    minimum = config.min_examples_per_intent
    for intent, count in counts.items():
        left = count if kept is None else kept[intent]
        # An intent with no rows already has an "empty file" problem.
        if count > 0 and left < minimum:
            skipped = f", after leaving out {count - left} with errors" if left < count else ""
            problems.append(
                Problem(first_file[intent], None,
                        f"{left} example(s) of the intent `{intent}`{skipped}",
                        f"at least {minimum} (min_examples_per_intent in bot.yaml)",
                        "add examples; fewer give a classifier little to learn from")
            )
    if not any(counts.values()):
        problems.append(
            Problem(str(intents_dir), None, "no intent with examples", "at least 1 intent",
                    "put one `<intent>.csv` (question,label) or `.yaml` file per intent there; "
                    "out-of-domain utterances go in data/ood/")
        )


def _check_intent_case(first_file: dict[str, str], problems: list[Problem]) -> None:
    """Intents whose names differ only in case (``Weather.csv`` beside ``weather.csv``)."""
    by_folded: dict[str, list[str]] = defaultdict(list)
    for intent in first_file:
        by_folded[intent.casefold()].append(intent)
    for names in by_folded.values():
        for name in names[1:]:
            problems.append(
                Problem(first_file[name], None,
                        f"the intent `{name}` here and the intent `{names[0]}` in "
                        f"{first_file[names[0]]}, names that differ only in case",
                        "one spelling per intent",
                        "they are trained as two intents; if they are one, give both the same "
                        "name (macOS and Windows cannot even keep both files in one folder)",
                        "warning")
            )
