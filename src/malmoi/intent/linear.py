"""The linear floor: logistic regression on the lexical featurizer's TF-IDF n-grams (prototype).

A TF-IDF + logistic regression classifier is the floor a user compares malmoi with (issue 24:
on CLINC150, ParaKQC and SNIPS it ranked intents better than the neural head). This module fits
that floor on exactly the features the intent head reads (:class:`~malmoi.featurize.lexical.
NgramFeaturizer`), to convergence (a convex problem: no epochs, no early stopping), so that it
can sit beside the neural head and be blended with it (:mod:`malmoi.intent.blend`).

One-vs-rest with liblinear, as the benchmarks' floor (``bench/_userpath.py``): a multinomial
L-BFGS fit keeps a history of ten copies of the (n-grams × intents) weights, several GB for
ParaKQC's 1,000 intents; the accuracy is the same within noise. ``C=10``: TF-IDF rows have unit
norm, and the default ``C=1`` underfits many intents.

Parsing needs no scikit-learn: :meth:`LinearIntents.scores` reads the exported weights with numpy.
Measurement prototype (bench/floor_blend.py); not yet a registered part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["LinearIntents", "design_matrix"]

Features = tuple[np.ndarray, np.ndarray]  # (rows, weights), as LexicalFeaturizer.transform gives


def design_matrix(features: Sequence[Features], size: int) -> Any:
    """A scipy CSR matrix ``(utterances, size)`` of the featurizer's TF-IDF weights."""
    from scipy.sparse import csr_matrix

    lengths = np.array([len(rows) for rows, _ in features], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([rows for rows, _ in features]) if len(features) else np.zeros(0, np.int64)
    data = np.concatenate([w for _, w in features]) if len(features) else np.zeros(0, np.float32)
    return csr_matrix((data.astype(np.float64), indices.astype(np.int64), indptr), shape=(len(features), size))


class LinearIntents:
    """Per-intent linear scores over TF-IDF n-gram rows.

    ``weights`` is ``(size, intents)`` so that an utterance reads only the rows of its n-grams;
    ``scores`` are the one-vs-rest decision values (log-odds of each intent against the rest).
    """

    def __init__(self, c: float = 10.0):
        self.c = c
        self.weights = np.zeros((0, 0), np.float32)
        self.bias = np.zeros(0, np.float32)

    @property
    def num_intents(self) -> int:
        return int(self.bias.shape[0])

    def fit(self, features: Sequence[Features], size: int, labels: Sequence[int], num_intents: int) -> LinearIntents:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        y = np.asarray(labels, dtype=np.int64)
        missing = sorted(set(range(num_intents)) - set(y.tolist()))
        if missing:
            raise ValueError(f"intents {missing[:5]} have no training utterance")
        x = design_matrix(features, size)
        if num_intents == 1:
            self.weights, self.bias = np.zeros((size, 1), np.float32), np.zeros(1, np.float32)
            return self
        classifier = LogisticRegression(C=self.c, solver="liblinear")
        if num_intents > 2:
            classifier = OneVsRestClassifier(classifier)
        classifier.fit(x, y)
        coef = np.asarray(classifier.coef_ if num_intents == 2 else [e.coef_[0] for e in classifier.estimators_])
        bias = np.asarray(
            classifier.intercept_ if num_intents == 2 else [e.intercept_[0] for e in classifier.estimators_]
        )
        if num_intents == 2:  # one decision value d: intent 1 scores d, intent 0 scores -d
            coef, bias = np.concatenate([-coef, coef]), np.concatenate([-bias, bias])
        self.weights = coef.T.astype(np.float32)  # (size, intents)
        self.bias = bias.reshape(-1).astype(np.float32)
        return self

    def scores(self, features: Sequence[Features]) -> np.ndarray:
        """``(utterances, intents)`` one-vs-rest decision values."""
        out = np.tile(self.bias, (len(features), 1))
        for i, (rows, weights) in enumerate(features):
            if len(rows):
                out[i] += weights.astype(np.float32) @ self.weights[rows]
        return out

    def probabilities(self, features: Sequence[Features]) -> np.ndarray:
        """One-vs-rest probabilities normalized over intents (scikit-learn's ``predict_proba``)."""
        p = 1.0 / (1.0 + np.exp(-self.scores(features).astype(np.float64)))
        return p / np.maximum(p.sum(1, keepdims=True), 1e-300)

    def pruned(self, keep: int) -> LinearIntents:
        """A copy keeping the ``keep`` weights of largest magnitude (the rest zero): what a sparse
        table of that many entries would give. The dense table is n-grams × intents (CLINC150:
        53,000 × 150, 30 MB as float32), too large for a bot's artifact as it is."""
        flat = np.abs(self.weights).ravel()
        out = LinearIntents(self.c)
        out.bias = self.bias.copy()
        if keep >= flat.size:
            out.weights = self.weights.copy()
            return out
        cut = np.partition(flat, flat.size - keep)[flat.size - keep]
        out.weights = np.where(np.abs(self.weights) >= cut, self.weights, 0.0).astype(np.float32)
        return out

    def export(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "bias": self.bias}

    @property
    def nbytes(self) -> int:
        return int(self.weights.nbytes + self.bias.nbytes)
