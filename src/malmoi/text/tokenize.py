"""Tokenizers that keep character offsets: Korean through Kiwi, everything else by Unicode class.

Every tokenizer returns tokens that are sorted, non-overlapping, non-empty, free of whitespace,
and that together cover every non-whitespace character of the text, so an entity given as a
character span can always be expressed in tokens (after :func:`malmoi.text.split_at`).

Korean uses Kiwi, the Korean Intelligent Word Identifier (Lee Minchul, github.com/bab2min/Kiwi),
a morphological analyser. It reports morphemes, not surface words: contracted forms overlap
(``알려줘`` is 알리/VV 어/EC 주/VX 어/EF over three characters), and some morphemes have no
surface at all. Overlapping morphemes are merged into one surface token whose ``pos`` and
``form`` join the parts with ``+``.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
import unicodedata
import warnings
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\S+")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Token:
    """One token as a character span of its text: ``text == original[start:end]``.

    Attributes:
        text: the surface string.
        start: index of the first character.
        end: index one past the last character.
        pos: part-of-speech tag; merged morphemes join theirs with ``+`` (``"VV+EC"``).
            Empty when unknown.
        form: the analyser's base form(s), joined like ``pos`` (``"알리+어"``); empty when the
            form is the surface itself or unknown.
        morphemes: the analyser's ids of the token's morphemes (Kiwi's vocabulary), for
            pretrained morpheme vectors (:mod:`malmoi.text.morpheme_vectors`); empty if none.
    """

    text: str
    start: int
    end: int
    pos: str = ""
    form: str = ""
    morphemes: tuple[int, ...] = ()


class Tokenizer(Protocol):
    def tokenize(self, text: str) -> list[Token]: ...


class UnicodeTokenizer:
    """Language-independent fallback: whitespace, then punctuation and script changes.

    Words are split at whitespace, punctuation and symbols become tokens of their own (a run of
    the same character such as ``...`` stays one token), and a word is cut where it changes
    between letters, digits, Hangul and kana. Each Han ideograph is its own token, since Chinese
    and Japanese do not separate words by spaces. Combining marks, variation selectors, emoji
    skin tones and zero-width-joiner sequences stay with the character they modify.

    >>> [t.text for t in UnicodeTokenizer().tokenize("Hello, world2024!")]
    ['Hello', ',', 'world', '2024', '!']
    """

    def tokenize(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        for match in _WORD.finditer(text):
            for start, end in _split_word(text, match.start(), match.end()):
                tokens.append(Token(text[start:end], start, end))
        return tokens


class KoreanTokenizer:
    """Korean tokenizer on Kiwi morphemes, merged into surface tokens.

    All instances share one Kiwi analyser per process, loaded on first use (about 2 s and
    400 MB). Kiwi releases the GIL while it analyses and is safe to call from several threads
    at once, so tokenization is not serialized by a lock; only the loading is.

    >>> [(t.text, t.pos) for t in KoreanTokenizer().tokenize("서울에서 알려줘")]
    [('서울', 'NNP'), ('에서', 'JKB'), ('알려', 'VV+EC'), ('줘', 'VX+EF')]
    """

    def tokenize(self, text: str) -> list[Token]:
        if not text or text.isspace():
            return []
        # Kiwi cannot encode lone surrogates (possible in decoded JSON); a one-to-one
        # substitution keeps every offset valid.
        safe = _SURROGATE.sub("\ufffd", text)
        morphemes = [(m.start, m.start + m.len, m.tag, m.form, m.id) for m in _kiwi().tokenize(safe)]
        return _surface_tokens(text, morphemes)


@functools.cache
def _tokenizer_for(language: str) -> Tokenizer:
    if language == "ko":
        return KoreanTokenizer()
    return UnicodeTokenizer()


def get_tokenizer(language: str) -> Tokenizer:
    """The tokenizer for a language: Kiwi for Korean (``"ko"``, ``"ko-KR"``), else Unicode rules.

    Tokenizers are cached per language, and Kiwi is loaded only when Korean is first tokenized.

    >>> get_tokenizer("ko-KR") is get_tokenizer("ko")
    True
    """
    return _tokenizer_for(re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0])


# --- Kiwi -------------------------------------------------------------------------------

_kiwi_instance: Kiwi | None = None
_kiwi_lock = threading.Lock()


def _kiwi() -> Kiwi:
    """The process-wide Kiwi analyser, loaded and warmed up once under a lock."""
    global _kiwi_instance
    kiwi = _kiwi_instance
    if kiwi is not None:
        return kiwi
    with _kiwi_lock:
        if _kiwi_instance is None:
            _kiwi_instance = _load_kiwi()
        return _kiwi_instance


def _load_kiwi() -> Kiwi:
    try:
        from kiwipiepy import Kiwi
    except ImportError as err:  # pragma: no cover - kiwipiepy is a dependency of malmoi
        raise ImportError(
            "Korean tokenization needs kiwipiepy, which malmoi depends on; "
            "install it with `pip install 'kiwipiepy>=0.21,<0.25'`."
        ) from err
    began = time.perf_counter()
    with warnings.catch_warnings():
        # kiwipiepy warns that num_workers=0 changed meaning in 0.21; the new meaning (no
        # worker pool) is the one wanted. A pool only serves batch calls, which are not used:
        # each call runs on its caller's thread, and an idle pool would not survive a fork.
        warnings.simplefilter("ignore", DeprecationWarning)
        kiwi = Kiwi(num_workers=0)
    # Kiwi finishes loading on its first call; do it here, under the lock, so that concurrent
    # first calls never race through initialization.
    kiwi.tokenize("")
    logger.info("loaded Kiwi %s in %.1f s", _kiwi_version(), time.perf_counter() - began)
    return kiwi


def _kiwi_version() -> str:
    from kiwipiepy import __version__

    return str(__version__)


def _surface_tokens(text: str, morphemes: list[tuple[int, int, str, str, int]]) -> list[Token]:
    """Merge Kiwi morphemes ``(start, end, tag, form, id)`` into surface tokens covering ``text``.

    Overlapping morphemes become one token; a morpheme without surface (a copula contracted
    away) joins the morpheme that follows it at the same place, else the one before it. Tokens
    are cut at whitespace, and characters Kiwi left uncovered get tokens of their own.
    """
    n = len(text)
    morphemes = sorted(morphemes, key=itemgetter(0))  # stable: keeps Kiwi's order at ties
    # Each group: [start, end, tags, forms, ids]; groups are disjoint and in text order.
    groups: list[list[Any]] = []
    last: list[Any] | None = None
    pending: list[tuple[int, str, str, int]] = []  # zero-width morphemes waiting for a neighbour
    for start, end, tag, form, ident in morphemes:
        if start < 0 or end > n:
            start, end = max(0, min(start, n)), max(0, min(end, n))
        if end <= start:
            pending.append((start, tag, form, ident))
            continue
        if last is not None and start < last[1]:
            group = last
            if end > group[1]:
                group[1] = end
        else:
            group = [start, end, [], [], []]
            groups.append(group)
        if pending:
            for at, ptag, pform, pid in pending:
                if at == start:  # contracted into this morpheme: 이모/NNG 이/VCP(0 chars) 지/EF
                    target = group
                elif last is not None and last[0] <= at <= last[1]:
                    target = last
                else:
                    continue
                target[2].append(ptag)
                target[3].append(pform)
                target[4].append(pid)
            pending.clear()
        group[2].append(tag)
        group[3].append(form)
        group[4].append(ident)
        last = group
    if pending and last is not None:
        for at, ptag, pform, pid in pending:
            if last[0] <= at <= last[1]:
                last[2].append(ptag)
                last[3].append(pform)
                last[4].append(pid)

    tokens: list[Token] = []
    cursor = 0
    for start, end, tags, forms, ids in groups:
        if start > cursor and not text[cursor:start].isspace():
            _fill_gap(text, cursor, start, tokens)
        surface = text[start:end]
        pos = tags[0] if len(tags) == 1 else "+".join(tags)
        form = forms[0] if len(forms) == 1 else "+".join(forms)
        if _WORD.fullmatch(surface):
            tokens.append(Token(surface, start, end, pos, "" if form == surface else form, tuple(ids)))
        else:
            _split_multiword(text, start, end, pos, form, tuple(ids), tokens)
        cursor = end
    if cursor < n:
        _fill_gap(text, cursor, n, tokens)
    return tokens


def _split_multiword(
    text: str, start: int, end: int, pos: str, form: str, ids: tuple[int, ...], tokens: list[Token]
) -> None:
    """Cut a morpheme spanning whitespace (Kiwi's multi-word nouns) into its words."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    forms = form.split()
    for i, (s, e) in enumerate(words):
        surface = text[s:e]
        piece_form = forms[i] if len(forms) == len(words) else form
        tokens.append(Token(surface, s, e, pos, "" if piece_form == surface else piece_form, ids))


def _fill_gap(text: str, start: int, end: int, tokens: list[Token]) -> None:
    """Give characters that Kiwi left uncovered tokens of their own, by Unicode rules."""
    for match in _WORD.finditer(text, start, end):
        for s, e in _split_word(text, match.start(), match.end()):
            tokens.append(Token(text[s:e], s, e))


# --- Unicode character classes ----------------------------------------------------------

_HANGUL, _HAN, _KANA, _DIGIT, _LETTER, _SYMBOL, _OTHER, _ATTACH, _FLAG = range(9)
_ZWJ = "\u200d"


@functools.lru_cache(maxsize=65536)
def _char_class(ch: str) -> int:
    cp = ord(ch)
    if (
        0xAC00 <= cp <= 0xD7A3  # syllables
        or 0x1100 <= cp <= 0x11FF  # jamo
        or 0x3130 <= cp <= 0x318F  # compatibility jamo (ㅋㅋ)
        or 0xA960 <= cp <= 0xA97F  # jamo extended-A
        or 0xD7B0 <= cp <= 0xD7FF  # jamo extended-B
        or 0xFFA0 <= cp <= 0xFFDC  # halfwidth
    ):
        return _HANGUL
    if (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3FFFF
        or cp == 0x3007  # 〇
    ):
        return _HAN
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
        return _KANA
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return _FLAG  # regional indicators pair up into flags
    if 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F or ch == _ZWJ:
        return _ATTACH  # skin tones, emoji tag sequences, zero-width joiner
    category = unicodedata.category(ch)
    if category[0] == "M":
        return _ATTACH  # combining marks, including variation selectors
    if category == "Nd":
        return _DIGIT
    if category[0] == "L":
        return _LETTER
    if category[0] in "PSN":
        return _SYMBOL
    return _OTHER


def _split_word(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut the whitespace-free ``text[start:end]`` at punctuation and script changes."""
    spans: list[tuple[int, int]] = []
    span_start, span_class = start, -1
    glue = False  # the previous character was a zero-width joiner
    flags = 0  # regional indicators in the current span
    for i in range(start, end):
        ch = text[i]
        cls = _char_class(ch)
        if i == start or glue or cls == _ATTACH:
            new = False
        elif cls == _FLAG:
            new = span_class != _FLAG or flags == 2
        elif cls == _SYMBOL:
            new = span_class != _SYMBOL or text[i - 1] != ch
        else:
            new = cls == _HAN or cls != span_class
        if new:
            spans.append((span_start, i))
            span_start, flags = i, 0
        if cls != _ATTACH and not (glue and i != span_start):
            span_class = cls
        if cls == _FLAG:
            flags += 1
        glue = ch == _ZWJ
    spans.append((span_start, end))
    return spans
