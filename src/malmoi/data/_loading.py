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
import logging
import os
from collections import Counter
from pathlib import Path

from malmoi.data._config import read_config
from malmoi.data._inline_yaml import read_intent_yaml
from malmoi.data._kochat_csv import read_intent_csv
from malmoi.data._ood import OOD_SUFFIXES, read_ood_file
from malmoi.data._reading import TypeUse, did_you_mean
from malmoi.data.problems import DataError, Problem
from malmoi.data.schema import BotData, Example
from malmoi.settings import BotConfig

logger = logging.getLogger("malmoi")

_INTENT_SUFFIXES = (".csv", ".yaml", ".yml")
_MAX_LOGGED_WARNINGS = 20  # a big data set can have thousands of duplicate lines


def load_bot(bot_dir: str | os.PathLike[str]) -> tuple[BotConfig, BotData]:
    """Read and check a bot directory.

    Raises:
        DataError: if any problem is an error; it carries every problem found, not just the
            first. Warnings are logged to the ``malmoi`` logger.

    >>> config, data = load_bot("examples/demo-bot")  # doctest: +SKIP
    >>> data.intents  # doctest: +SKIP
    ['dust', 'greeting', 'restaurant', 'travel', 'weather']
    """
    config, data, problems = _read_bot(Path(bot_dir))
    _raise_or_log(problems)
    return config, data


def validate_bot(bot_dir: str | os.PathLike[str]) -> list[Problem]:
    """Every problem (errors and warnings) in a bot directory, sorted by file and line.

    Never raises for bad data: a missing directory or bot.yaml is a problem like any other.
    """
    return _read_bot(Path(bot_dir))[2]


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


def _read_bot(bot_dir: Path) -> tuple[BotConfig, BotData, list[Problem]]:
    problems: list[Problem] = []
    if not bot_dir.is_dir():
        found = "a file, not a directory" if bot_dir.exists() else "no such directory"
        problems.append(
            Problem(str(bot_dir), None, found, "a bot directory with bot.yaml and data/",
                    "see docs/bot-format.md for the layout")
        )
        return BotConfig(), BotData(), problems
    config, declared_lines = read_config(bot_dir, problems)

    examples: list[Example] = []
    uses: list[TypeUse] = []
    counts: dict[str, int] = {}  # rows per intent, valid or not, so one bad row can't cascade
    first_file: dict[str, str] = {}
    intents_dir = bot_dir / "data" / "intents"
    if not intents_dir.is_dir():
        problems.append(_missing_intents_dir(intents_dir))
    else:
        for path in _data_files(intents_dir, _INTENT_SUFFIXES, problems):
            file_examples, file_counts = _read_intent_file(path, problems, uses)
            examples.extend(file_examples)
            for intent, count in file_counts.items():
                counts[intent] = counts.get(intent, 0) + count
                first_file.setdefault(intent, str(path))

    ood: list[Example] = []
    ood_dir = bot_dir / "data" / "ood"
    if ood_dir.is_dir():
        for path in _data_files(ood_dir, OOD_SUFFIXES, problems):
            ood.extend(read_ood_file(path, problems))

    _check_entity_types(uses, config, str(bot_dir / "bot.yaml"), declared_lines, problems)
    _check_duplicates(examples, ood, problems)
    if intents_dir.is_dir():
        _check_intent_counts(counts, first_file, config, intents_dir, problems)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return config, BotData(examples, ood), problems


def _read_intent_file(
    path: Path, problems: list[Problem], uses: list[TypeUse]
) -> tuple[list[Example], dict[str, int]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        examples, count = read_intent_csv(path, path.stem, problems, uses)
        return examples, {path.stem: count}
    if suffix in (".yaml", ".yml"):
        return read_intent_yaml(path, problems, uses)
    problems.append(
        Problem(str(path), None, f"a `{suffix}` file", "a `.csv`, `.yaml` or `.yml` file")
    )
    return [], {}


def _data_files(folder: Path, suffixes: tuple[str, ...], problems: list[Problem]) -> list[Path]:
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
    declared = config.entities
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
                    expected, hint)
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


def _check_duplicates(examples: list[Example], ood: list[Example], problems: list[Problem]) -> None:
    first: dict[str, Example] = {}
    for example in examples:
        earlier = first.setdefault(example.text, example)
        if earlier is example:
            continue
        file, line = _location(example)
        if earlier.intent != example.intent:
            problems.append(
                Problem(file, line,
                        f"`{example.text}` under intent `{example.intent}`, and under "
                        f"`{earlier.intent}` at {earlier.source}",
                        "each utterance under one intent",
                        "keep it under the intent it means and delete the other")
            )
        elif earlier.entities != example.entities:
            problems.append(
                Problem(file, line,
                        f"`{example.text}` labelled {_entities(example)} here but "
                        f"{_entities(earlier)} at {earlier.source}",
                        "the same entities each time an utterance appears",
                        "fix the wrong one, or delete one of them",
                        # Label noise rather than unlearnable data (Kochat's demo has some).
                        "warning")
            )
        else:
            problems.append(
                Problem(file, line, f"`{example.text}` again (first at {earlier.source})",
                        "each utterance once",
                        "delete the repeat; it only weighs the utterance more",
                        "warning")
            )
    for example in ood:
        earlier = first.get(example.text)
        if earlier is not None:
            file, line = _location(example)
            problems.append(
                Problem(file, line,
                        f"the out-of-domain utterance `{example.text}` also under intent "
                        f"`{earlier.intent}` at {earlier.source}",
                        "out-of-domain utterances that no intent has",
                        "delete it from one of the two")
            )


def _entities(example: Example) -> str:
    return "[" + ", ".join(f"{e.value}:{e.type}" for e in example.entities) + "]"


def _location(example: Example) -> tuple[str, int | None]:
    file, _, line = example.source.rpartition(":")
    return file, int(line)


def _check_intent_counts(
    counts: dict[str, int],
    first_file: dict[str, str],
    config: BotConfig,
    intents_dir: Path,
    problems: list[Problem],
) -> None:
    minimum = config.min_examples_per_intent
    for intent, count in counts.items():
        # An intent with no rows already has an "empty file" problem.
        if 0 < count < minimum:
            problems.append(
                Problem(first_file[intent], None,
                        f"{count} example(s) of the intent `{intent}`",
                        f"at least {minimum} (min_examples_per_intent in bot.yaml)",
                        "add examples; fewer give a classifier little to learn from")
            )
    if sum(count > 0 for count in counts.values()) < 2:
        found = ", ".join(f"`{i}`" for i, n in counts.items() if n > 0) or "none"
        problems.append(
            Problem(str(intents_dir), None, f"intents with examples: {found}", "at least 2 intents",
                    "a classifier needs two intents or more to tell apart; out-of-domain "
                    "utterances go in data/ood/")
        )
