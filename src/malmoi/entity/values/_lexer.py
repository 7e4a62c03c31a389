"""Text and Kiwi tokens → atoms: the known words of :mod:`._lexicon`, with their offsets.

Each whitespace-separated word is covered by lexicon words (and digits, clock times, dates)
with a small dynamic programme: as many characters as possible, in as few pieces as possible
(이번주말 is 이번 + 주말, not 이번주 + 말). Kiwi decides where a covered stretch may begin and
end: only at a morpheme boundary, so a syllable inside a noun is never a number — 사람 is one
morpheme, and the 사 (4) in it cannot stand alone; 사람두명 still gives 두 + 명. Kiwi's
part of speech vetoes the rest: nothing inside a verb or an ending (두고, 세요), a particle only
as a range marker (부터, 까지), and a bare one-syllable numeral that Kiwi read as a noun (일 =
work, 만 = only) is *weak*: a number only before a unit, or as the whole message.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from malmoi.entity.values._lexicon import (
    BIG,
    CLOCK,
    COUNTER,
    CUR,
    DATE,
    DIG,
    DIR,
    DURWORD,
    FEW,
    FIRST_CHARS,
    HALF,
    LATIN_WORDS,
    LEXICON,
    MAX_WORD,
    MOD,
    MUL,
    NAT,
    NUM,
    ORD,
    PARTICLE_TAGS,
    POINT,
    SERIAL,
    SINO_DIGITS,
    SINO_GROUPS,
    SINO_MULTIPLIERS,
    SLASH,
    SYMBOLS,
    TENS,
    UNIT,
    WEEKEND,
    Reading,
)
from malmoi.text.tokenize import Token

Piece = tuple[int, int, tuple[Reading, ...], int, bool]  # offset, length, readings, link, weak

# How an atom sits after the one before it.
ATTACHED, SPACED, BROKEN = 0, 1, 2

_FREE, _PARTICLE, _BLOCKED = 0, 1, 2
_BLOCKING_TAGS = ("V", "E", "IC", "XSV", "XSA", "XP")
_NOT_WORDS = ("J", "SF", "SP", "SS", "SE", "SO", "SW")
# Inside one token (a noun Kiwi did not split), words may make only a numeral and its unit
# (이분: 이 + 분, two minutes) or a modifier and its noun (지난주): the head, then numerals, then
# the tail. 구두 (shoes) is no 9 + 2, 영원 (forever) no 0 won, 4주년 (4th anniversary) no 4 weeks.
_HEAD = frozenset({DIG, MUL, BIG, NAT, TENS, FEW, MOD})
_MIDDLE = frozenset({DIG, MUL, BIG, NAT, TENS})
_TAIL = frozenset({UNIT, ORD, COUNTER, DURWORD, HALF, WEEKEND})
_NUMERALS = frozenset({DIG, MUL, BIG, NAT, TENS, POINT})
_SINO_CHARS = frozenset([*SINO_DIGITS, *SINO_MULTIPLIERS, *SINO_GROUPS])

_ASCII_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d{4}|\d{2})[/.-](\d{1,2})[/.-](\d{1,2})(?![\d/.-])"), DATE),
    (re.compile(r"\d+(?:-\d+){2,}"), SERIAL),
    (re.compile(r"([01]?\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?(?![\d:])"), CLOCK),
    (re.compile(r"(\d{1,2})/(\d{1,2})(?![\d/])"), SLASH),
    (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:\.\d+)?"), NUM),
]
_LATIN = re.compile(r"[A-Za-z]+")


@dataclass(slots=True)
class Atom:
    """One known word of the text, with every reading the lexicon has for it.

    ``link`` says how it follows the atom before it: ATTACHED (no space), SPACED (whitespace
    only) or BROKEN (anything else in between: another word, punctuation, a particle).
    ``next_pos`` is Kiwi's tag of the token right after it ("" at the end of the text).
    """

    start: int
    end: int
    text: str
    readings: list[Reading]
    link: int
    weak: bool = False
    next_pos: str = ""

    def get(self, tag: str) -> object | None:
        for t, value in self.readings:
            if t == tag:
                return value if value is not None else True
        return None

    def has(self, tag: str) -> bool:
        return any(t == tag for t, _ in self.readings)


def might_hold_values(text: str) -> bool:
    """A cheap test: a text with no digit and no first letter of a known word holds no value."""
    return any(ch in FIRST_CHARS or ch.isdigit() or ch in SYMBOLS for ch in text)


def lex(text: str, tokens: Sequence[Token]) -> list[Atom]:
    """The atoms of ``text``, in order, given its tokens (offsets into ``text``)."""
    atoms: list[Atom] = []
    # The message is one word (and its particles): "일" or "만은" answer "how many?".
    whole = sum(1 for t in tokens if not t.pos.startswith(_NOT_WORDS)) == 1
    starts = [t.start for t in tokens]
    i = 0
    previous_end = -1  # end of the last atom, if it closed the previous word
    while i < len(tokens):
        j = i + 1
        while j < len(tokens) and tokens[j].start == tokens[j - 1].end:
            j += 1
        word = tokens[i:j]
        word_start, word_end = word[0].start, word[-1].end
        if any(_may_start(t.text) for t in word):
            pieces = _cover(tuple((t.text, t.pos) for t in word), whole)
            for offset, length, readings, link, weak in pieces:
                start = word_start + offset
                if link == SPACED:  # the first piece, at the start of the word
                    link = SPACED if previous_end >= 0 and text[previous_end:start].isspace() else BROKEN
                    if not atoms:
                        link = BROKEN
                atoms.append(Atom(start, start + length, text[start : start + length], list(readings), link, weak))
            previous_end = atoms[-1].end if pieces and atoms[-1].end == word_end else -1
        else:
            previous_end = -1
        i = j
    for atom in atoms:
        k = bisect.bisect_left(starts, atom.end)
        atom.next_pos = tokens[k].pos if k < len(tokens) else ""
    return atoms


def _may_start(token_text: str) -> bool:
    first = token_text[0]
    return first in FIRST_CHARS or first.isdigit() or first in SYMBOLS or (first.isascii() and first.isalpha())


def _numeral_particle(previous: str, token_text: str) -> bool:
    """Kiwi reads the last syllable of some numerals as a particle or a copula (이천칠백삼십오만:
    만/JX, 일억이: 이/JKS, 오십이는: 이/VCP). Right after a numeral, 만/억/조 is a numeral, and so
    is a digit after a numeral that ends in a multiplier; "3이" (3 + 이/JKS) stays a particle."""
    if not previous or not all(ch in SINO_DIGITS or ch in SINO_MULTIPLIERS or ch in SINO_GROUPS for ch in previous):
        return False
    if token_text in SINO_GROUPS:
        return True
    return token_text in SINO_DIGITS and (previous[-1] in SINO_GROUPS or previous[-1] in SINO_MULTIPLIERS)


def _token_class(pos: str) -> int:
    tag = pos.split("+", 1)[0]
    if tag.startswith("J"):
        return _PARTICLE
    if tag.startswith(_BLOCKING_TAGS) or tag == "VCP":
        return _BLOCKED
    return _FREE


@functools.lru_cache(maxsize=32768)
def _cover(word: tuple[tuple[str, str], ...], whole: bool) -> tuple[Piece, ...]:
    """Cover one whitespace-free word, given as its tokens ``(text, pos)``, with atoms.

    Returns ``(offset, length, readings, link, weak)`` per atom, offsets into the word; the first
    atom of a word that starts at offset 0 has link SPACED (the caller decides), others ATTACHED
    or BROKEN. Cached: a chatbot hears the same words again and again.
    """
    text = "".join(t for t, _ in word)
    n = len(text)
    boundaries = {0}
    classes: list[int] = []
    exact: dict[tuple[int, int], str] = {}  # token spans, with their tags
    position = 0
    previous = previous_pos = ""
    inner: dict[int, str] = {}  # positions inside a token → the token's tag
    for token_text, pos in word:
        spelled = len(token_text) >= 3 and all(ch in _SINO_CHARS for ch in token_text)
        for k in range(position + 1, position + len(token_text)):
            inner[k] = "NR" if spelled else pos  # 만이천삼백사십오/NNG: a number Kiwi did not know
        token_class = _token_class(pos)
        # 일만 (10,000) as a whole message, but 일만 하다 (only work) is 일/NNG + 만/JX
        numeral_before = previous_pos == "NR" or whole
        if (token_class == _PARTICLE or pos == "VCP") and numeral_before and _numeral_particle(previous, token_text):
            token_class = _FREE
        classes.extend([token_class] * len(token_text))
        previous, previous_pos = token_text, pos
        exact[(position, position + len(token_text))] = pos
        position += len(token_text)
        boundaries.add(position)

    # best[p][inside]: (characters covered, -atoms) of the best cover of text[:p]; inside says
    # whether text[p-1] is covered. A covered stretch starts and ends only at a boundary.
    best: list[list[tuple[int, int] | None]] = [[None, None] for _ in range(n + 1)]
    back: list[list[tuple[int, int, tuple[Reading, ...] | None] | None]] = [[None, None] for _ in range(n + 1)]
    best[0][0] = (0, 0)

    def relax(p: int, inside: int, score: tuple[int, int], step: tuple[int, int, tuple[Reading, ...] | None]) -> None:
        current = best[p][inside]
        if current is None or score > current:
            best[p][inside] = score
            back[p][inside] = step

    for p in range(n):
        for inside in (0, 1):
            score = best[p][inside]
            if score is None:
                continue
            if not inside or p in boundaries:
                relax(p + 1, 0, score, (p, inside, None))
            if inside or p in boundaries:
                for length, readings in _words_at(text, p, classes, boundaries, inner):
                    relax(p + length, 1, (score[0] + length, score[1] - 1), (p, inside, readings))
    covered, uncovered = best[n][1], best[n][0]
    end_inside = 1 if covered is not None and (uncovered is None or covered > uncovered) else 0
    pieces: list[Piece] = []
    p, inside = n, end_inside
    while p > 0:
        step = back[p][inside]
        assert step is not None
        start, before, chosen = step
        if chosen is not None:
            link = ATTACHED if before else (BROKEN if start > 0 else SPACED)
            tag = exact.get((start, p))
            weak = not whole and tag is not None and _is_weak(text[start:p], chosen, tag)
            pieces.append((start, p - start, chosen, link, weak))
        p, inside = start, before
    pieces.reverse()
    return tuple(pieces)


def _words_at(
    text: str, p: int, classes: list[int], boundaries: set[int], inner: dict[int, str]
) -> list[tuple[int, tuple[Reading, ...]]]:
    """The lexicon words and digit forms that may cover ``text`` from ``p``: (length, readings).

    A word may start or end inside a token only as a numeral and its unit (:func:`_inside`).
    """
    found: list[tuple[int, tuple[Reading, ...]]] = []
    ch = text[p]
    if ch.isascii() and (ch.isalnum() or ch in SYMBOLS):
        if ch.isdigit() and p > 0 and text[p - 1].isascii() and text[p - 1].isalpha():
            latin = _latin_before(text, p)
            if not any(tag == CUR for tag, _ in LATIN_WORDS.get(latin.lower(), ())):
                return found  # "A4", "x2": digits glued to a Latin word are no number (EUR29.99 is)
        if ch.isdigit():
            for pattern, tag in _ASCII_PATTERNS:
                match = pattern.match(text, p)
                if match:
                    found.append((match.end() - p, ((tag, _ascii_value(tag, match)),)))
                    break
        elif ch.isalpha():
            match = _LATIN.match(text, p)
            assert match is not None
            readings = LATIN_WORDS.get(match.group().lower())
            if readings:
                found.append((match.end() - p, tuple(readings)))
        else:
            found.append((1, tuple(SYMBOLS[ch])))
        return [(n, r) for n, r in found if _BLOCKED not in classes[p : p + n]]
    for n in range(1, min(MAX_WORD, len(text) - p) + 1):
        readings = LEXICON.get(text[p : p + n])
        if readings is None:
            continue
        span = classes[p : p + n]
        # Inside a verb or an ending, a word is known only where it is whole tokens: 오는 (오/VV
        # 는/ETM) in 오는 주 is the modifier, the 세 in 세요 is no number.
        if _BLOCKED in span:
            # Kiwi's verb or ending, when the word is whole tokens: 오는 (오/VV 는/ETM) of 오는 주
            # is the modifier, 내 of 7일내 (내/VV) "within"; never a numeral (뭐하나, 세요).
            if not (p in boundaries and p + n in boundaries):
                continue
            readings = [r for r in readings if r[0] in (MOD, DIR)]
            if not readings:
                continue
        if _PARTICLE in span:
            readings = [r for r in readings if r[0] in PARTICLE_TAGS]
            if not readings:
                continue
        if p in inner or p + n in inner:
            readings = _inside(readings, inner.get(p), inner.get(p + n), text[p - 1] if p else "")
            if not readings:
                continue
        found.append((n, tuple(readings)))
    return found


def _inside(readings: Sequence[Reading], starts_in: str | None, ends_in: str | None, before: str) -> list[Reading]:
    """The readings a word keeps where it starts inside a token (tag ``starts_in``) or ends
    inside one (``ends_in``); a proper noun (NNP) is never cut, a numeral (NR, MM) only into
    numerals.
    A currency may end a token after a multiplier (만불: 10,000 dollars), not after a digit
    (이불 is a blanket, 영원 forever)."""
    if starts_in == "NNP" or ends_in == "NNP":
        return []
    if starts_in in (None, "NR", "MM") and ends_in in (None, "NR", "MM"):  # 열한/MM, 이천십오/NR
        return [r for r in readings if r[0] in _NUMERALS or r[0] == UNIT]
    allowed = _MIDDLE if starts_in and ends_in else _TAIL if starts_in else _HEAD
    if starts_in and not ends_in and (before in SINO_MULTIPLIERS or before in SINO_GROUPS):
        allowed = allowed | {CUR}
    return [r for r in readings if r[0] in allowed]


def _latin_before(text: str, p: int) -> str:
    start = p
    while start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
        start -= 1
    return text[start:p]


def _ascii_value(tag: str, match: re.Match[str]) -> object:
    if tag == NUM:
        number = float(match.group().replace(",", ""))
        return int(number) if number.is_integer() and "." not in match.group() else number
    if tag == SERIAL:
        return match.group()
    groups = match.groups()
    if tag == CLOCK:
        return (int(groups[0]), int(groups[1]), int(groups[2]) if groups[2] else None)
    return tuple(int(g) for g in groups)


def _is_weak(word: str, readings: tuple[Reading, ...], pos: str) -> bool:
    """A one-syllable numeral that Kiwi tagged as something else (일/NNG work, 열/NNG fever,
    만/JX only, 이/MM this); 한/MM, 두/MM are the determiners they look like."""
    if len(word) != 1 or pos in ("NR", "SN"):
        return False
    tags = {tag for tag, _ in readings}
    if not tags & {DIG, MUL, BIG, NAT, TENS}:
        return False
    return not (pos == "MM" and NAT in tags)
