"""Label cleaning: find mislabelled utterances with PICO and fix them with a person's consent.

>>> from malmoi.clean import CleanSettings, find_label_issues
>>> result = find_label_issues(examples, "ko", CleanSettings(rounds=3))  # doctest: +SKIP
>>> [(s.text, s.given, s.suggested, round(s.p_wrong, 2)) for s in result.suspects[:3]]  # doctest: +SKIP

``malmoi clean BOT_DIR`` runs the same from the command line (docs/cleaning.md).
"""

from malmoi.clean.checker import CheckerFeatures, LabelChecker, LexicalHeadChecker
from malmoi.clean.cleaning import CleanResult, CleanSettings, Neighbour, Suspect, build_checker, find_label_issues
from malmoi.clean.pico import CheckerRunner, PicoResult, SparseRows, pico

__all__ = [
    "CheckerFeatures",
    "CheckerRunner",
    "CleanResult",
    "CleanSettings",
    "LabelChecker",
    "LexicalHeadChecker",
    "Neighbour",
    "PicoResult",
    "SparseRows",
    "Suspect",
    "build_checker",
    "find_label_issues",
    "pico",
]
