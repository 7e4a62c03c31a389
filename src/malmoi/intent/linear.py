"""The linear floor: logistic regression on the lexical part's TF-IDF n-grams, beside the neural head.

A TF-IDF + logistic regression classifier is the floor a user compares malmoi with (issue 24:
on CLINC150, ParaKQC and SNIPS it ranked intents better than the neural head alone). This part
is that floor, fitted on exactly the features the intent head reads (the ``lexical`` part,
:class:`~malmoi.featurize.lexical.NgramFeaturizer`), to convergence (a convex problem: no epochs,
no early stopping). A parse blends its scores with the neural head's logits
(:mod:`malmoi.intent.blend`, weights learned on training's held-out share).

One-vs-rest with liblinear, as the benchmarks' floor (``bench/_userpath.py``): a multinomial
L-BFGS fit keeps a history of ten copies of the (n-grams × intents) weights, several GB for
ParaKQC's 1,000 intents; the accuracy is the same within noise. ``C=10``: TF-IDF rows have unit
norm, and the default ``C=1`` underfits many intents.

The fitted table is n-grams × intents (CLINC150: 53,000 × 150, 30 MB as float32): only the
:data:`KEEP_PER_ROW` × n-grams weights of largest magnitude are kept, as a sparse table (CSR:
per n-gram row, the intents it votes for and its weights, float16). 16 per row keeps CLINC150's
top-1 (93.07 % dense and pruned, bench/results/floor_blend_clinc150.json) at a tenth of the size.
Parsing needs no scikit-learn: an utterance's scores are one ``bincount`` over its n-grams' entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from malmoi.intent.blend import IN_DOMAIN_SCORES, Blend
from malmoi.intent.scoring import IntentScores
from malmoi.parts import LoadContext, Part

__all__ = ["KEEP_PER_ROW", "LinearFloor", "design_matrix", "fit_linear"]

Features = tuple[np.ndarray, np.ndarray]  # (rows, weights), as LexicalFeaturizer.transform gives
C = 10.0  # inverse regularization strength of the logistic regression (see the module docstring)
KEEP_PER_ROW = 16  # weights kept per n-gram row on average (the largest in magnitude)


def design_matrix(features: Sequence[Features], size: int) -> Any:
    """A scipy CSR matrix ``(utterances, size)`` of the featurizer's TF-IDF weights."""
    from scipy.sparse import csr_matrix

    lengths = np.array([len(rows) for rows, _ in features], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([rows for rows, _ in features]) if len(features) else np.zeros(0, np.int64)
    data = np.concatenate([w for _, w in features]) if len(features) else np.zeros(0, np.float32)
    return csr_matrix((data.astype(np.float64), indices.astype(np.int64), indptr), shape=(len(features), size))


def fit_linear(features: Sequence[Features], size: int, labels: Sequence[int],
               num_intents: int) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest logistic regression: dense ``(size, intents)`` weights and ``(intents,)`` biases,
    so that an utterance's scores are its decision values (log-odds of each intent against the rest)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    y = np.asarray(labels, dtype=np.int64)
    missing = sorted(set(range(num_intents)) - set(y.tolist()))
    if missing:
        raise ValueError(f"intents {missing[:5]} have no training utterance")
    if num_intents < 2:
        raise ValueError("a linear floor needs at least two intents")
    x = design_matrix(features, size)
    # A fixed seed: liblinear shuffles its coordinates, and without one it draws from numpy's global
    # generator (training must leave the caller's random state alone, and fit twice the same).
    classifier: Any = LogisticRegression(C=C, solver="liblinear", random_state=0)
    if num_intents > 2:
        classifier = OneVsRestClassifier(classifier)
    classifier.fit(x, y)
    if num_intents == 2:  # one decision value d: intent 1 scores d, intent 0 scores -d
        coef = np.concatenate([-classifier.coef_, classifier.coef_])
        bias = np.concatenate([-classifier.intercept_, classifier.intercept_])
    else:
        coef = np.stack([e.coef_[0] for e in classifier.estimators_])
        bias = np.array([e.intercept_[0] for e in classifier.estimators_])
    return coef.T.astype(np.float32), bias.reshape(-1).astype(np.float32)


def _sparse(weights: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``keep`` largest-magnitude weights of a dense ``(rows, intents)`` table as CSR arrays
    ``(indptr, intents, values)``."""
    magnitude = np.abs(weights).ravel()
    if keep < magnitude.size:
        cut = np.partition(magnitude, magnitude.size - keep)[magnitude.size - keep]
        kept = (np.abs(weights) >= cut) & (weights != 0)
    else:
        kept = weights != 0
    rows, columns = np.nonzero(kept)  # row-major: sorted by row
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=weights.shape[0]))]).astype(np.int64)
    column_type = np.int16 if weights.shape[1] <= np.iinfo(np.int16).max else np.int32
    return indptr, columns.astype(column_type), weights[rows, columns].astype(np.float16)


class LinearFloor(Part):
    """``linear-floor.v1``: the floor's sparse weights, and how a parse blends it with the neural head.

    ``settings``: the bot's :class:`~malmoi.settings.IntentSettings` (``floor: false`` trains none).
    ``state``: the blend (``neural_weight``, ``floor_weight``), ``in_domain`` (the score the
    fallback threshold applies to: ``neural``, the head's own, or ``blend_logit``) and what
    training measured on its held-out share (``held_out``). ``arrays``: ``indptr`` (n-gram rows
    + 1), ``intents`` and ``weights`` (one entry each kept weight), ``bias`` (one per intent).
    """

    def __init__(self, settings: Any, arrays: dict[str, np.ndarray], blend: Blend, in_domain: str = "neural",
                 held_out: dict[str, Any] | None = None):
        self.settings = settings
        self.indptr = np.asarray(arrays["indptr"], np.int64)
        self.intents = np.asarray(arrays["intents"])
        self.weights = np.asarray(arrays["weights"], np.float16)
        self.bias = np.asarray(arrays["bias"], np.float32)
        if in_domain not in IN_DOMAIN_SCORES:
            raise ValueError(f"unknown in-domain score {in_domain!r}; expected one of {IN_DOMAIN_SCORES}")
        if self.indptr.ndim != 1 or len(self.indptr) < 1 or self.indptr[-1] != len(self.intents) \
                or self.intents.shape != self.weights.shape or np.any(np.diff(self.indptr) < 0):
            raise ValueError(f"floor table does not fit: indptr {self.indptr.shape} for {self.intents.shape} entries")
        if len(self.intents) and (self.intents.min() < 0 or self.intents.max() >= len(self.bias)):
            raise ValueError(f"floor table names intents outside 0..{len(self.bias) - 1}")
        self.blend, self.in_domain = blend, in_domain
        self.held_out = dict(held_out or {})

    @classmethod
    def fit(cls, settings: Any, features: Sequence[Features], size: int, labels: Sequence[int],
            num_intents: int) -> LinearFloor:
        """The floor fitted on training utterances' n-grams; blended with the neural head alone
        until :meth:`with_blend` sets what held-out data chose."""
        weights, bias = fit_linear(features, size, labels, num_intents)
        indptr, columns, values = _sparse(weights, KEEP_PER_ROW * size)
        return cls(settings, {"indptr": indptr, "intents": columns, "weights": values, "bias": bias}, Blend(1.0, 0.0))

    def with_blend(self, blend: Blend, in_domain: str, held_out: dict[str, Any]) -> LinearFloor:
        return LinearFloor(self.settings, self.arrays(), blend, in_domain, held_out)

    @property
    def num_intents(self) -> int:
        return int(self.bias.shape[0])

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def scores(self, features: Sequence[Features]) -> np.ndarray:
        """``(utterances, intents)`` decision values: the bias plus each n-gram's weighted entries."""
        out = np.tile(self.bias.astype(np.float64), (len(features), 1))
        for i, (rows, weights) in enumerate(features):
            if not len(rows):
                continue
            starts = self.indptr[rows]
            counts = self.indptr[rows + 1] - starts
            total = int(counts.sum())
            if total == 0:
                continue
            # The positions of every entry of these rows, in one array (no loop over rows).
            positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
            values = np.repeat(np.asarray(weights, np.float64), counts) * self.weights[positions]
            out[i] += np.bincount(self.intents[positions], weights=values, minlength=self.num_intents)
        return out

    def blended(self, neural: IntentScores, features: Sequence[Features]) -> IntentScores:
        """The neural head's scores of a batch blended with this floor's (``features``: its n-grams)."""
        z = self.blend.logits(neural.logits.astype(np.float64), self.scores(features))
        probabilities = np.exp(z - z.max(1, keepdims=True))
        probabilities /= probabilities.sum(1, keepdims=True)
        in_domain = z.max(1) if self.in_domain == "blend_logit" else neural.in_domain
        return IntentScores(probabilities, z.argmax(1), in_domain, z)

    def state(self) -> dict[str, Any]:
        return {"neural_weight": self.blend.neural_weight, "floor_weight": self.blend.linear_weight,
                "in_domain": self.in_domain, "held_out": self.held_out}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"indptr": self.indptr, "intents": self.intents, "weights": self.weights, "bias": self.bias}

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> LinearFloor:
        weights = (state.get("neural_weight"), state.get("floor_weight"))
        if not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in weights):
            raise ValueError(f"the floor's blend weights are {list(weights)}, not two numbers >= 0")
        blend = Blend(float(weights[0]), float(weights[1]))  # type: ignore[arg-type]
        return cls(settings, arrays, blend, str(state.get("in_domain")), state.get("held_out") or {})
