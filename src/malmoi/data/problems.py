"""Data problems that teach: each names the file, the line, what was found, what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # 1-based; None when the problem concerns the whole file
    found: str
    expected: str
    hint: str = ""
    severity: str = "error"  # "error" stops training; "warning" does not
    # An error that concerns one utterance alone (a bad tag, an utterance under two intents):
    # `load_bot(skip_invalid=True)` leaves that utterance out and trains on the rest. Errors of a
    # whole file or of bot.yaml are never skippable.
    skippable: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{where}: {self.severity}: found {self.found}; expected {self.expected}."
        if self.hint:
            text += f" Hint: {self.hint}"
        return text


class DataError(Exception):
    """Raised when bot data has errors; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        lines = "\n".join(f"  {p}" for p in errors)
        super().__init__(f"{len(errors)} problem(s) in the bot data:\n{lines}")
