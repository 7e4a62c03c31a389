"""What every data file reader shares: UTF-8 decoding, text normalization, close-name guesses."""

from __future__ import annotations

import codecs
import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from malmoi.data.problems import Problem

_WORD_RE = re.compile(r"\S+")


def normalize_text(text: str) -> str:
    """Training text as malmoi stores it: Unicode NFC, trimmed, whitespace runs made one space.

    NFC first, because Korean typed on macOS arrives as decomposed jamo (NFD) and would
    otherwise never match the same words typed elsewhere. This must give the text that
    :func:`malmoi.text.normalize` gives a user's message at inference (a test checks it); it is
    its own function so that reading 20,000 rows doesn't build offset maps nobody uses.

    >>> normalize_text("  내일\\t 서울  날씨 ")
    '내일 서울 날씨'
    """
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(_WORD_RE.findall(text))


def collapse_spaces(
    text: str, spans: list[tuple[int, int]]
) -> tuple[str, list[tuple[int, int] | None]]:
    """``text`` with whitespace trimmed and collapsed, and ``spans`` moved onto the result.

    Spans shrink to their first and last non-space character; a span of only whitespace
    becomes ``None``. ``text`` must already be NFC.
    """
    words = list(_WORD_RE.finditer(text))
    new_of_old: dict[int, int] = {}  # old index of a non-space character -> its new index
    position = 0
    for word in words:
        for old in range(word.start(), word.end()):
            new_of_old[old] = position + old - word.start()
        position += word.end() - word.start() + 1
    moved: list[tuple[int, int] | None] = []
    for start, end in spans:
        inside = [new_of_old[i] for i in range(start, end) if i in new_of_old]
        moved.append((inside[0], inside[-1] + 1) if inside else None)
    return " ".join(w[0] for w in words), moved


def read_utf8(path: Path, problems: list[Problem]) -> str | None:
    """The text of ``path``, or ``None`` after adding a problem if it cannot be read as UTF-8.

    A UTF-8 byte-order mark (Excel writes one) is dropped silently.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        problems.append(
            Problem(str(path), None, f"a file that cannot be read ({error.strerror})",
                    "a readable file", "check the file's permissions")
        )
        return None
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        start = bom + error.start
        hint = ("re-save the file as UTF-8; from Excel's Korean CSV (cp949/EUC-KR): "
                f"`iconv -f cp949 -t utf-8 '{path.name}' > 'fixed{path.suffix}'`")
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            hint = ("this file is UTF-16 (Excel's \"Unicode text\"); re-save it as UTF-8: "
                    f"`iconv -f utf-16 -t utf-8 '{path.name}' > 'fixed{path.suffix}'`")
        problems.append(
            Problem(
                str(path),
                raw.count(b"\n", 0, start) + 1,
                f"a byte that is not UTF-8 (0x{raw[start]:02x}, byte {start} of the file)",
                "UTF-8 text",
                hint,
            )
        )
        return None


def did_you_mean(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice closest to a misspelled ``name``, ignoring case, or ``None``."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[close[0]] if close else None


@dataclass(frozen=True)
class TypeUse:
    """Where an entity type was written, and how, for checks that need all files' counts.

    ``written`` is the annotation as the user wrote it (``S-LOCATON`` or ``[서울](LOCATON)``),
    so a hint can show the same annotation corrected.
    """

    file: str
    line: int
    type: str
    written: str
