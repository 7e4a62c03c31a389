"""Pretrained Korean morpheme vectors, read out of the language model that kiwipiepy ships.

Kiwi's CoNg model embeds each of its ~70,000 morphemes in 256 dimensions; ``서울/NNP`` sits near
``부산``, ``대구`` and ``광주``. kiwipiepy exposes the embeddings only through cosine similarities
(``Kiwi.morpheme_similarity``), but similarities determine the vectors up to a rotation: with a
fixed set of anchor morphemes ``A`` whose unit embeddings span the space, a morpheme's
similarities to the anchors are ``s(x) = U e_x`` (``U``: the anchors' unit embeddings), and the
anchors' Gram matrix ``G = U Uᵀ = V Λ Vᵀ`` gives ``Λ^-½ Vᵀ s(x)``, the unit embedding ``e_x`` in an
orthonormal basis of the span. A test checks that cosines of recovered vectors equal Kiwi's own.

Vectors depend on the installed kiwipiepy and its model; a trained model records
:func:`version` and refuses to run with another.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import numpy as np

__all__ = ["DIM", "MorphemeVectors", "morpheme_vectors", "version"]

DIM = 256  # the CoNg model's embedding size (the rank of its similarity matrix)
_ANCHORS = 320  # more anchors than dimensions, so they span the space
_SEED = 20240501  # anchors are the same in every process and on every machine
_CACHE_LIMIT = 200_000


def version() -> str:
    """What the vectors depend on: kiwipiepy's version and that of its model package."""
    import kiwipiepy

    try:
        import kiwipiepy_model  # type: ignore[import-untyped]

        model = getattr(kiwipiepy_model, "__version__", "?")
    except ImportError:  # pragma: no cover - kiwipiepy depends on it
        model = "?"
    return f"kiwipiepy {kiwipiepy.__version__}, model {model}"


class MorphemeVectors:
    """Unit vectors ``(DIM,)`` of Kiwi morphemes by id, computed on first use and cached.

    A morpheme without a vector in the language model gets zeros.
    """

    def __init__(self) -> None:
        from malmoi.text.tokenize import _kiwi

        kiwi = _kiwi()
        # Kiwi's Python wrapper only turns Token arguments into ids before calling its compiled
        # base class; with ids, calling the base directly is the same function at 0.2 µs instead
        # of 0.5 µs a pair, which matters at 320 pairs for each morpheme first seen at parse time.
        compiled = getattr(type(kiwi).__mro__[1], "morpheme_similarity", None)
        self._similarity = (
            functools.partial(compiled, kiwi) if callable(compiled) else kiwi.morpheme_similarity
        )
        vocabulary = np.array(sorted(m.id for m in kiwi.most_similar_morphemes(0, top_n=10**6)), dtype=np.int64)
        self.size = int(vocabulary.max()) + 1
        anchors = np.random.default_rng(_SEED).choice(vocabulary, _ANCHORS, replace=False)
        self._anchors = [int(a) for a in anchors]
        gram = np.array([[self._similarity(a, b) for b in self._anchors] for a in self._anchors], np.float64)
        eigenvalues, eigenvectors = np.linalg.eigh(gram)
        top = np.argsort(eigenvalues)[::-1][:DIM]
        # (DIM, anchors): similarities to the anchors → coordinates in an orthonormal basis.
        self._project = (eigenvectors[:, top] / np.sqrt(np.maximum(eigenvalues[top], 1e-12))).T.astype(np.float32)
        self._cache: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def vector(self, morpheme: int) -> np.ndarray:
        cached = self._cache.get(morpheme)
        if cached is not None:
            return cached
        vector = np.zeros(DIM, np.float32)
        if 0 <= morpheme < self.size:
            similarity = self._similarity
            similarities = np.array([similarity(morpheme, a) for a in self._anchors], np.float32)
            # Some analyses use morphemes the language model has no vector for (NaN similarities).
            if np.isfinite(similarities).all():
                vector = self._project @ similarities
                norm = float(np.linalg.norm(vector))
                vector = vector / norm if norm > 0 else vector
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[morpheme] = vector
        return vector

    def token_vector(self, morphemes: Sequence[int]) -> np.ndarray:
        """The mean vector of a token's morphemes (zeros for a token without any)."""
        if not morphemes:
            return np.zeros(DIM, np.float32)
        if len(morphemes) == 1:
            return self.vector(morphemes[0])
        return np.mean([self.vector(m) for m in morphemes], axis=0)


_instance: MorphemeVectors | None = None
_instance_lock = threading.Lock()


def morpheme_vectors() -> MorphemeVectors:
    """The process-wide table (Kiwi is one per process too), built on first use (~0.2 s)."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = MorphemeVectors()
        return _instance
