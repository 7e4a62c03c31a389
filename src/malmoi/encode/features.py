"""Token features: a learned vocabulary plus hashed character n-grams (fastText-style).

Hashed n-grams give every token a vector, so a city or dish never seen in training is
still represented by the pieces it shares with seen ones (Bojanowski et al. 2017,
"Enriching Word Vectors with Subword Information").
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK = "<pad>", "<unk>"


def _char_ngrams(word: str, sizes: Sequence[int] = (1, 2, 3)) -> list[str]:
    marked = f"<{word}>"
    grams = [marked[i : i + n] for n in sizes for i in range(len(marked) - n + 1)]
    return [g for g in grams if g not in ("<", ">")]


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; a model must see the same ids after reloading.
    return zlib.crc32(text.encode("utf-8"))


class TokenFeaturizer:
    """Turns token strings into id lists for an ``EmbeddingBag``.

    Ids ``[0, len(vocab))`` are whole tokens; ids from ``len(vocab)`` on are n-gram buckets.
    """

    def __init__(self, vocab: list[str], hash_buckets: int, pos_tags: list[str]):
        self.vocab = vocab
        self.hash_buckets = hash_buckets
        self.pos_tags = pos_tags
        self._word_index = {w: i for i, w in enumerate(vocab)}
        self._pos_index = {p: i for i, p in enumerate(pos_tags)}
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def fit(
        cls,
        token_lists: Iterable[Sequence[str]],
        pos_lists: Iterable[Sequence[str]],
        *,
        hash_buckets: int,
        min_count: int = 1,
    ) -> TokenFeaturizer:
        counts = Counter(t.lower() for tokens in token_lists for t in tokens)
        vocab = [PAD, UNK] + sorted(w for w, c in counts.items() if c >= min_count)
        pos_tags = [PAD, UNK] + sorted({p for pos in pos_lists for p in pos})
        return cls(vocab, hash_buckets, pos_tags)

    @property
    def num_embeddings(self) -> int:
        return len(self.vocab) + self.hash_buckets

    def token_ids(self, token: str) -> list[int]:
        ids = self._cache.get(token)
        if ids is None:
            word = token.lower()
            offset = len(self.vocab)
            ids = [self._word_index.get(word, 1)]
            ids += [offset + _stable_hash(g) % self.hash_buckets for g in _char_ngrams(word)]
            if len(self._cache) < 200_000:  # bounded: the server sees unbounded distinct inputs
                self._cache[token] = ids
        return ids

    def pos_id(self, pos: str) -> int:
        return self._pos_index.get(pos, 1)
