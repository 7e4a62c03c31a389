"""What every data file reader shares: UTF-8 decoding, text normalization, close-name guesses."""

from __future__ import annotations

import codecs
import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from malmoi.data.problems import Problem
from malmoi.data.schema import FALLBACK_INTENT

_WORD_RE = re.compile(r"\S+")

# The longest line malmoi reads from a data file, in characters: the csv module's default field
# limit, so that a CSV, a YAML or a .txt file refuses the same text. No utterance comes near it;
# a line this long is a broken file (an unclosed quote, a binary or minified file).
MAX_LINE_CHARS = 131_072
_MAX_LINE_BYTES = 4 * MAX_LINE_CHARS  # UTF-8 takes at most 4 bytes per character
_CHUNK_BYTES = 1 << 20
_BYTE_BREAK_RE = re.compile(rb"[\r\n]")
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
# Unicode categories of characters that show: letters, numbers, punctuation, symbols.
_VISIBLE = frozenset("LNPS")


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


def read_utf8(
    path: Path, problems: list[Problem], *, max_line_chars: int | None = MAX_LINE_CHARS
) -> str | None:
    """The text of ``path``, or ``None`` after adding a problem if it cannot be read as UTF-8.

    A UTF-8 byte-order mark (Excel writes one) is dropped silently. A line longer than
    ``max_line_chars`` is a problem too; the file is read in chunks and reading stops at such a
    line, so a huge one is never decoded or parsed. ``None`` reads lines of any length (JSON).
    """
    try:
        with open(path, "rb") as handle:
            raw, long_line = _read_checking_lines(handle, max_line_chars)
    except OSError as error:
        problems.append(
            Problem(str(path), None, f"a file that cannot be read ({error.strerror})",
                    "a readable file", "check the file's permissions")
        )
        return None
    if long_line is not None:
        problems.append(_long_line_problem(path, long_line, None))
        return None
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
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
    # Only a line of more than max_line_chars bytes can have more than max_line_chars characters.
    if max_line_chars is not None and len(raw) > max_line_chars:
        for number, line in enumerate(_LINE_BREAK_RE.split(text), 1):
            if len(line) > max_line_chars:
                problems.append(_long_line_problem(path, number, len(line)))
                return None
    return text


def _read_checking_lines(handle: BinaryIO, max_line_chars: int | None) -> tuple[bytes, int | None]:
    """All bytes of ``handle``, or those up to the first line of more than ``4 * max_line_chars``
    bytes (surely more than ``max_line_chars`` characters) and that line's number."""
    if max_line_chars is None:
        return handle.read(), None
    limit = 4 * max_line_chars
    data = bytearray()
    run = 0  # bytes of the line that the previous chunk left open
    while chunk := handle.read(_CHUNK_BYTES):
        lengths = [len(piece) for piece in _BYTE_BREAK_RE.split(chunk)]
        lengths[0] += run
        if max(lengths) > limit:
            index = next(i for i, n in enumerate(lengths) if n > limit)
            # Where the long line starts: after the index-th line break of this chunk.
            start = len(data) - run if index == 0 else len(data) + sum(lengths[:index]) - run + index
            data += chunk
            return bytes(data), data.count(b"\n", 0, start) + 1
        data += chunk
        run = lengths[-1] if len(lengths) > 1 else run + len(chunk)
    return bytes(data), None


def _long_line_problem(path: Path, line: int, length: int | None) -> Problem:
    found = f"a line of {length:,} characters" if length else (
        f"a line of more than {MAX_LINE_CHARS:,} characters")
    return Problem(
        str(path), line, found, f"lines of at most {MAX_LINE_CHARS:,} characters",
        "one utterance a line is far shorter; an unclosed `\"` in a CSV, or a file that is not "
        "line-based text (binary, minified), does this: fix the file, or split the text",
    )


def utterance_problem(text: str) -> tuple[str, str] | None:
    """``(found, hint)`` when a normalized, non-empty utterance is no text to learn from: it has
    a NUL or another control character, or nothing but invisible characters (zero-width spaces).

    >>> utterance_problem("\u200b")[0]
    'an utterance of only invisible characters (U+200B ZERO WIDTH SPACE)'
    >>> utterance_problem("서울 날씨") is None
    True
    """
    controls = [c for c in dict.fromkeys(text) if unicodedata.category(c) == "Cc"]
    if controls:
        shown = ", ".join(_code_point(c) for c in controls[:3])
        rest = "".join(c for c in text if c not in controls).strip()
        found = (f"the control character {shown} in `{rest[:60]}`" if rest
                 else f"an utterance of only control characters ({shown})")
        hint = "delete it"
        if "\0" in controls:
            hint = ("NUL bytes come from binary files and from UTF-16 read as UTF-8; delete it, or "
                    "re-save the file as UTF-8 text")
        return found, hint
    if not any(unicodedata.category(c)[0] in _VISIBLE for c in text):
        shown = ", ".join(_code_point(c) for c in dict.fromkeys(text.replace(" ", "")))
        hint = ("write the utterance, or delete it; zero-width characters come with text copied "
                "from web pages and chat apps")
        return f"an utterance of only invisible characters ({shown})", hint
    return None


def _code_point(char: str) -> str:
    name = unicodedata.name(char, "") or {"\0": "NUL", "\x7f": "DELETE"}.get(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def reserved_intent_problem(intent: str, file: str, line: int | None, where: str) -> Problem | None:
    """The problem of an intent named ``fallback`` (in any case), or ``None``.

    A parse result says ``intent.name == "fallback"`` when no intent fits; an intent of that
    name would answer the same, with ``fallback: false``.
    """
    if intent.casefold() != FALLBACK_INTENT:
        return None
    return Problem(
        file, line, f"the intent `{intent}`{where}",
        f"another name: malmoi reserves `{FALLBACK_INTENT}` (in any case) for what no intent covers",
        "put utterances the bot should not answer in data/ood/ (they teach it when to fall back); "
        "for a real intent, pick another name, like `other`",
    )


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
