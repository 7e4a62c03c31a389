"""Dictionary entities: an entity type listed as values with their synonyms, resolved to the value.

A bot lists them in ``data/entities/<TYPE>.csv`` or ``.yml``:

- CSV, one value per row: the canonical value first, then one synonym per column (the layout
  of Dialogflow's entity export, so those files load as they are)::

      # CITY.csv: lines starting with # are comments
      서울,서울시,서울특별시,Seoul
      부산,부산시,부산광역시

- YAML, a mapping of each value to its synonyms (a list, one string, or nothing)::

      서울: [서울시, 서울특별시, Seoul]
      부산: 부산광역시
      대구:

Matching is on normalized text (NFC as :mod:`malmoi.text.normalize`, case folded, spaces
ignored: 서울 특별시 = 서울특별시) and
on token boundaries (Kiwi's morphemes for Korean): 서울특별시에서 holds 서울특별시, while 서울시청
(city hall) does not hold 서울시. Longest match first. With ``typos=True``, a value of four or
more characters also matches with one typo (a letter left out, added, changed, or two swapped).

Why a hash map over token windows and not an Aho-Corasick automaton (pyahocorasick): matches
may only start and end on token boundaries, so the candidate windows are known; looking each up
is a handful of dictionary probes per sentence, with no dependency and no matches inside words
to filter out afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from malmoi.data._entities import SUFFIXES, Dictionary, load_dictionaries, load_dictionary, match_key
from malmoi.data.problems import Problem
from malmoi.entity.values._value import Value
from malmoi.text.tokenize import Token, get_tokenizer

__all__ = ["SUFFIXES", "Dictionary", "DictionaryMatcher", "load_dictionaries", "load_dictionary", "match_key"]

MIN_TYPO_LENGTH = 4  # shorter values have too many neighbours one letter away (서울 ~서을, 대구 ~ 대국)
# Tokens a typo match may not end on: a misspelled value is a word, not a particle or an ending.
_NOT_WORD_END = ("J", "E", "V", "X", "IC", "SF", "SP", "SS", "SE", "SO", "SW")


# -- matching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    entity: str
    canonical: str


class DictionaryMatcher:
    """Finds the values of several dictionaries in texts.

    >>> d = Dictionary("CITY"); d.add("서울", ["서울특별시"], 1, [])
    >>> [(v.kind, v.text, v.resolved) for v in DictionaryMatcher([d]).find("서울특별시에서 만나")]
    [('CITY', '서울특별시', '서울')]
    """

    def __init__(self, dictionaries: Sequence[Dictionary], *, typos: bool = False,
                 problems: list[Problem] | None = None):
        self.typos = typos
        self._exact: dict[str, _Entry] = {}
        self._deletions: dict[str, list[str]] = {}  # a key with one letter left out → the keys
        for dictionary in dictionaries:
            for key, (canonical, line) in dictionary.synonyms.items():
                known = self._exact.get(key)
                if known is not None and known.entity != dictionary.entity:
                    if problems is not None:
                        problems.append(Problem(
                            dictionary.source, line, f"`{key}`, also a value of `{known.entity}`",
                            "each text in one dictionary", f"it matches as `{known.entity}` (the first file)",
                            severity="warning"))
                    continue
                self._exact[key] = _Entry(dictionary.entity, canonical)
        self._longest = max(map(len, self._exact), default=0)
        if typos:
            index = self._deletions
            for key in self._exact:
                if len(key) >= MIN_TYPO_LENGTH:
                    for k in range(len(key)):
                        deleted = key[:k] + key[k + 1 :]
                        bucket = index.get(deleted)
                        if bucket is None:
                            index[deleted] = [key]
                        elif bucket[-1] != key:  # 서울시 → 서울 either way: once is enough
                            bucket.append(key)

    def __len__(self) -> int:
        return len(self._exact)

    def resolve(self, entity: str, text: str) -> str | None:
        """The canonical value of ``text`` if it is a synonym in ``entity``'s dictionary."""
        found = self._exact.get(match_key(text))
        return found.canonical if found is not None and found.entity == entity else None

    def find(self, text: str, tokens: Sequence[Token] | None = None, *, language: str = "ko") -> list[Value]:
        """Dictionary values in ``text``, longest first, on token boundaries, in text order."""
        if not self._exact or not text:
            return []
        if tokens is None:
            tokens = get_tokenizer(language).tokenize(text)
        keys = [match_key(t.text) for t in tokens]
        limit = self._longest + (1 if self.typos else 0)
        found: list[tuple[bool, int, int, _Entry]] = []  # (typo, -length, start index, entry); ends below
        ends: list[int] = []
        for i in range(len(tokens)):
            window = ""
            for j in range(i, len(tokens)):
                window += keys[j]
                if len(window) > limit:
                    break
                entry = self._exact.get(window)
                typo = False
                if entry is None and self.typos and len(window) >= MIN_TYPO_LENGTH - 1:
                    if tokens[j].pos.startswith(_NOT_WORD_END) or tokens[i].pos.startswith(_NOT_WORD_END):
                        continue
                    entry, typo = self._near(window), True
                if entry is not None:
                    found.append((typo, -(tokens[j].end - tokens[i].start), i, entry))
                    ends.append(j)
        order = sorted(range(len(found)), key=lambda k: found[k][:3])  # exact first, then longest
        taken = [False] * len(tokens)
        out = []
        for k in order:
            _, _, i, entry = found[k]
            j = ends[k]
            if any(taken[i : j + 1]):
                continue
            taken[i : j + 1] = [True] * (j + 1 - i)
            start, end = tokens[i].start, tokens[j].end
            out.append(Value(entry.entity, start, end, text[start:end], entry.canonical))
        out.sort(key=lambda v: v.start)
        return out

    def _near(self, window: str) -> _Entry | None:
        """The value one typo away from ``window``, if exactly one value is (else None)."""
        candidates = set(self._deletions.get(window, ()))  # a letter left out
        for deleted in _deletions(window):
            if deleted in self._exact and len(deleted) >= MIN_TYPO_LENGTH:
                candidates.add(deleted)  # a letter added
            candidates.update(self._deletions.get(deleted, ()))  # changed or swapped
        candidates = {c for c in candidates if _one_edit(window, c)}
        entries = {self._exact[c] for c in candidates}
        return entries.pop() if len(entries) == 1 else None


def _deletions(word: str) -> set[str]:
    return {word[:k] + word[k + 1 :] for k in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one insertion, deletion, substitution or adjacent swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) > len(b):
        a, b = b, a
    k = 0
    while k < len(a) and a[k] == b[k]:
        k += 1
    if len(a) < len(b):
        return a[k:] == b[k + 1 :]
    if a[k + 1 :] == b[k + 1 :]:
        return True
    return k + 1 < len(a) and a[k] == b[k + 1] and a[k + 1] == b[k] and a[k + 2 :] == b[k + 2 :]
