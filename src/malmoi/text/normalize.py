"""Text normalization that remembers where every character came from.

Utterances are NFC-composed (decomposed jamo such as ``ᄒ ᅡ ᆫ`` become the syllable ``한``),
stripped, and every whitespace run becomes one space. Models see the normalized text; spans they
predict are mapped back to the user's original text with :meth:`NormalizedText.to_original`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

# Python's ``\s`` matches exactly the characters for which ``str.isspace()`` is true.
_WHITESPACE = re.compile(r"\s+")
_NON_WHITESPACE = re.compile(r"\S+")


@dataclass(frozen=True)
class NormalizedText:
    """A normalized string with a map back to the string it came from.

    Attributes:
        text: the normalized string.
        offsets: ``len(text) + 1`` entries; ``offsets[i]`` is the index in the original string
            where the source of normalized character ``i`` starts, and the last entry is the length
            of the original string.
        ends: ``len(text)`` entries; ``ends[i]`` is the index in the original string where the
            source of normalized character ``i`` ends. A character composed by NFC from several
            original characters (or a space standing for a whitespace run) has ``ends[i] -
            offsets[i] > 1``.
    """

    text: str
    offsets: list[int]
    ends: list[int]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the span ``text[start:end]`` to a span of the original string.

        The original span covers whole source clusters: a span that starts or ends inside a
        character that NFC composed maps to that character's complete source.

        >>> n = normalize("  내일   서울 ")
        >>> n.text, n.to_original(3, 5)
        ('내일 서울', (7, 9))
        """
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(
                f"span ({start}, {end}) is outside the normalized text of length {len(self.text)}"
            )
        if start == end:
            return self.offsets[start], self.offsets[start]
        return self.offsets[start], self.ends[end - 1]


def normalize(text: str) -> NormalizedText:
    """NFC-compose ``text``, strip it and collapse each whitespace run into one space.

    Returns:
        the normalized text with, for each of its characters, the span of the original it
        came from.

    >>> n = normalize("내일\\t\\t날씨")
    >>> n.text, n.offsets
    ('내일 날씨', [0, 1, 2, 4, 5, 6])
    """
    out: list[str] = []
    offsets: list[int] = []
    ends: list[int] = []
    for match in _NON_WHITESPACE.finditer(text):
        if out:
            # The space stands for the whole whitespace run before this word.
            out.append(" ")
            offsets.append(ends[-1])
            ends.append(match.start())
        _normalize_word(match.group(), match.start(), out, offsets, ends)
    offsets.append(len(text))
    return NormalizedText("".join(out), offsets, ends)


def _normalize_word(
    word: str, base: int, out: list[str], offsets: list[int], ends: list[int]
) -> None:
    """Append the NFC form of a whitespace-free ``word`` found at ``base`` with its source spans."""
    if unicodedata.is_normalized("NFC", word):  # the common case: nothing moves
        out.append(word)
        offsets.extend(range(base, base + len(word)))
        ends.extend(range(base + 1, base + len(word) + 1))
        return
    clusters = _nfc_clusters(word)
    for cluster_start, cluster_end in clusters:
        composed = unicodedata.normalize("NFC", word[cluster_start:cluster_end])
        out.append(composed)
        offsets.extend([base + cluster_start] * len(composed))
        ends.extend([base + cluster_end] * len(composed))


def _nfc_clusters(word: str) -> list[tuple[int, int]]:
    """Cut ``word`` into the smallest spans that NFC normalizes independently of each other.

    A candidate cut sits before each character of combining class 0; two neighbours are joined
    when normalizing them together differs from normalizing them apart (Hangul jamo composing
    into a syllable, a base letter taking a vowel sign). If the pieces still do not add up to the
    NFC of the whole word (a pathological sequence), the whole word is one cluster.
    """
    cuts = [i for i, ch in enumerate(word) if i == 0 or unicodedata.combining(ch) == 0]
    cuts.append(len(word))
    clusters: list[tuple[int, int]] = []
    for start, end in itertools.pairwise(cuts):
        if clusters:
            prev_start, prev_end = clusters[-1]
            before, piece = word[prev_start:prev_end], word[start:end]
            if unicodedata.normalize("NFC", before + piece) != unicodedata.normalize(
                "NFC", before
            ) + unicodedata.normalize("NFC", piece):
                clusters[-1] = (prev_start, end)
                continue
        clusters.append((start, end))
    pieces = "".join(unicodedata.normalize("NFC", word[s:e]) for s, e in clusters)
    if pieces != unicodedata.normalize("NFC", word):
        return [(0, len(word))]
    return clusters
