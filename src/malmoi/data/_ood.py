"""Out-of-domain utterances: what users say that no intent covers, used to calibrate fallback."""

from __future__ import annotations

import re
from pathlib import Path

from malmoi.data._kochat_csv import read_ood_csv
from malmoi.data._reading import normalize_text, read_utf8, utterance_problem
from malmoi.data.problems import Problem
from malmoi.data.schema import Example

OOD_SUFFIXES = (".csv", ".txt")
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")


def read_ood_file(path: Path, problems: list[Problem]) -> list[Example]:
    """Examples with ``intent=None`` from a ``.csv`` (``question`` column) or ``.txt`` file."""
    if path.suffix.lower() == ".csv":
        return read_ood_csv(path, problems)
    if path.suffix.lower() == ".txt":
        return _read_ood_txt(path, problems)
    problems.append(
        Problem(str(path), None, f"a `{path.suffix}` file", "a `.csv` or `.txt` file of utterances",
                "rename it, or move it out of data/ood")
    )
    return []


def _read_ood_txt(path: Path, problems: list[Problem]) -> list[Example]:
    text = read_utf8(path, problems)
    if text is None:
        return []
    # Not splitlines(): it also breaks at \x0c, \x1c or \u2028, and line numbers would no
    # longer match what an editor shows.
    examples = []
    lines = 0  # with text, valid or not
    for line, raw in enumerate(_LINE_BREAK_RE.split(text), start=1):
        normalized = normalize_text(raw)
        if not normalized:
            continue
        lines += 1
        junk = utterance_problem(normalized)
        if junk is not None:
            problems.append(Problem(str(path), line, junk[0], "an utterance", junk[1], skippable=True))
            continue
        examples.append(Example(normalized, None, (), f"{path}:{line}"))
    if not lines:
        # Training works without OOD data, so an empty file is only suspicious.
        problems.append(Problem(str(path), 1, "an empty file", "one utterance per line",
                                "add utterances, or delete the file", "warning"))
    return examples
