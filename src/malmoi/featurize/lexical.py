"""Sparse lexical features: TF-IDF weighted word n-grams and character n-grams, hashed.

On real bot data a linear classifier over word and character n-grams is a strong floor (a
TF-IDF + logistic regression baseline beat malmoi's neural model on CLINC150, ParaKQC and SNIPS):
n-grams keep the exact wording that a small model's dense vectors blur, and character n-grams
inside a Korean word (eojeol) catch stems and endings across spacing variants. This featurizer
turns a :class:`~malmoi.text.Doc` into such a vector; the intent head embeds it beside the
encoder's sentence vector (:mod:`malmoi.intent.head`).

For Korean, words are the morphemes' base forms from Kiwi (``지울까`` → ``지우``, ``ㄹ까``), so a
question and a command with the same verb share features. Weights follow scikit-learn's
``TfidfVectorizer(sublinear_tf=True)``: ``(1 + log tf) * idf`` with ``idf = ln((1 + n) / (1 +
df)) + 1``, then L2-normalized over the n-grams seen in training (others are dropped).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from malmoi.featurize.hashing import stable_hash
from malmoi.parts import LoadContext, Part
from malmoi.text.doc import Doc

__all__ = ["LexicalFeaturizer", "NgramFeaturizer", "no_lexical_features"]

_CACHE_LIMIT = 200_000


class LexicalFeaturizer(Part):
    """Interface of a lexical featurizer: a fitted map from a Doc to weighted feature rows.

    A registered lexical part (``registry.lexical``) is built from its validated settings.
    ``transform(doc)`` returns ``(rows, weights)``: indices into the ``size`` rows the intent head
    learns one vector for, and their weights. It saves and loads as a :class:`~malmoi.parts.Part`.
    """

    @property
    def size(self) -> int:
        raise NotImplementedError

    def fit(self, docs: Sequence[Doc]) -> LexicalFeaturizer:
        raise NotImplementedError

    def transform(self, doc: Doc) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit_transform(self, docs: Sequence[Doc]) -> list[tuple[np.ndarray, np.ndarray]]:
        self.fit(docs)
        return [self.transform(d) for d in docs]


class NgramFeaturizer(LexicalFeaturizer):
    """``ngrams.v1`` (settings: :class:`malmoi.components.NgramSettings`).

    >>> from malmoi.components import NgramSettings
    >>> from malmoi.text import Analyzer
    >>> docs = Analyzer("en").many(["book a flight", "book a table"])
    >>> featurizer = NgramFeaturizer(NgramSettings()).fit(docs)
    >>> rows, weights = featurizer.transform(docs[0])
    >>> round(float((weights ** 2).sum()), 6)
    1.0
    """

    def __init__(self, settings: Any):
        self.settings = settings
        self.keys = np.zeros(0, np.int64)  # sorted buckets seen in training
        self.idf = np.zeros(0, np.float32)
        self._word_cache: dict[str, list[int]] = {}  # a word's character n-gram buckets

    @property
    def size(self) -> int:
        return len(self.keys)

    # -- features ---------------------------------------------------------------------------

    def features(self, doc: Doc) -> list[str]:
        """The n-gram strings of one utterance (with repeats: they count as term frequency)."""
        out: list[str] = []
        if self.settings.word_ngrams:
            out += self._word_features(doc)
        for word in doc.normalized.lower().split():
            out += self._char_features(word)
        return out

    def _word_features(self, doc: Doc) -> list[str]:
        words = _words(doc)
        out = ["w:" + w for w in words]
        for n in range(2, self.settings.word_ngrams + 1):
            out += ["b:" + "|".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        return out

    def _char_features(self, word: str) -> list[str]:
        low, high = self.settings.char_ngrams
        if not high:
            return []
        marked = f" {word} "
        return [
            "c:" + marked[i : i + n]
            for n in range(low, high + 1)
            for i in range(len(marked) - n + 1)
            if not marked[i : i + n].isspace()
        ]

    def _buckets(self, doc: Doc) -> Counter[int]:
        buckets = self.settings.buckets
        counts: Counter[int] = (
            Counter(stable_hash(f) % buckets for f in self._word_features(doc))
            if self.settings.word_ngrams
            else Counter()
        )
        cache = self._word_cache
        for word in doc.normalized.lower().split():
            ids = cache.get(word)
            if ids is None:
                ids = [stable_hash(f) % buckets for f in self._char_features(word)]
                if len(cache) < _CACHE_LIMIT:  # bounded: a server sees unboundedly many words
                    cache[word] = ids
            counts.update(ids)
        return counts

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, docs: Sequence[Doc]) -> NgramFeaturizer:
        self._fit([self._buckets(doc) for doc in docs])
        return self

    def fit_transform(self, docs: Sequence[Doc]) -> list[tuple[np.ndarray, np.ndarray]]:
        counts = [self._buckets(doc) for doc in docs]  # n-grams once, not once per pass
        self._fit(counts)
        return [self._weights(c) for c in counts]

    def _fit(self, counts: Sequence[Counter[int]]) -> None:
        df: Counter[int] = Counter()
        for c in counts:
            df.update(c.keys())
        self.keys = np.array(sorted(df), dtype=np.int64)
        frequencies = np.array([df[k] for k in self.keys.tolist()], dtype=np.float64)
        self.idf = (np.log((1 + len(counts)) / (1 + frequencies)) + 1).astype(np.float32)

    def transform(self, doc: Doc) -> tuple[np.ndarray, np.ndarray]:
        return self._weights(self._buckets(doc))

    def _weights(self, counts: Counter[int]) -> tuple[np.ndarray, np.ndarray]:
        if not counts or not len(self.keys):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids = np.fromiter(counts.keys(), np.int64, len(counts))
        tf = np.fromiter(counts.values(), np.float64, len(counts))
        where = np.minimum(np.searchsorted(self.keys, ids), len(self.keys) - 1)
        known = self.keys[where] == ids
        rows = where[known]
        weights = (1 + np.log(tf[known])) * self.idf[rows]
        norm = math.sqrt(float((weights**2).sum()))
        if norm:
            weights = weights / norm
        return rows.astype(np.int64), weights.astype(np.float32)

    # -- persistence ------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        return {"keys": self.keys, "idf": self.idf}

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> NgramFeaturizer:
        keys, idf = arrays["keys"], arrays["idf"]
        if keys.ndim != 1 or idf.shape != keys.shape or (len(keys) > 1 and not np.all(keys[1:] > keys[:-1])):
            raise ValueError("lexical keys must be sorted, distinct and one idf each")
        featurizer = cls(settings)
        featurizer.keys, featurizer.idf = keys.astype(np.int64), idf.astype(np.float32)
        return featurizer


def no_lexical_features(settings: Any) -> None:
    """``none.v1``: the intent head reads the encoder alone (the model then has no lexical part)."""
    return None


def _words(doc: Doc) -> list[str]:
    """Lowercased words with letters or digits; a Korean token gives its morphemes' base forms."""
    words: list[str] = []
    for token in doc.tokens:
        if not any(ch.isalnum() for ch in token.text):
            continue
        if token.form:
            words += [f.lower() for f in token.form.split("+") if f]
        else:
            words.append(token.text.lower())
    return words
