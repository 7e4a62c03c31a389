"""Stacking the neural intent head and the linear floor (prototype).

Each member scores every intent: the neural head its logits (``scale × cosine`` to each class
centre, :class:`~malmoi.intent.scoring.IntentScorer`), the linear floor its one-vs-rest decision
values (:class:`~malmoi.intent.linear.LinearIntents`). The blend is a weighted sum of the two,

    z_c = a · neural_c + b · linear_c,    a, b ≥ 0,

with ``a`` and ``b`` chosen to minimize the log loss of ``softmax(z)`` on utterances neither
member trained on (stacking, Wolpert 1992): training's held-out share, scored by the first-pass
network and by a floor fitted without it. Two weights learned on hundreds of held-out
utterances cannot overfit them, and since ``(a, 0)`` and ``(0, b)`` are among the candidates, the
blend's held-out log loss is never worse than the better member's at its best scale.

The fallback needs an in-domain score: the neural head's own (its cosine to the nearest centre),
or the top blended logit, which keeps the neural cosine's absolute nearness and adds the floor's
(the top blended *probability* forgets it: shifting every logit changes no probability).
:func:`choose_in_domain` keeps whichever separates held-out in-domain from out-of-domain
utterances better (CLINC150: the blended logit; the Kochat demo: the neural cosine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["IN_DOMAIN_SCORES", "Blend", "InDomainScore", "choose_in_domain", "fit_blend", "in_domain_scores"]

InDomainScore = Literal["blend_probability", "blend_logit"]
# The in-domain scores a model's fallback may threshold: the neural head's own, or the blend's top logit.
IN_DOMAIN_SCORES = ("neural", "blend_logit")


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


@dataclass(frozen=True)
class Blend:
    neural_weight: float
    linear_weight: float

    def logits(self, neural: np.ndarray, linear: np.ndarray) -> np.ndarray:
        return self.neural_weight * neural + self.linear_weight * linear

    def probabilities(self, neural: np.ndarray, linear: np.ndarray) -> np.ndarray:
        return np.exp(_log_softmax(self.logits(neural, linear)))


def _loss_and_gradient(params: np.ndarray, neural: np.ndarray, linear: np.ndarray, labels: np.ndarray):
    a, b = params
    log_p = _log_softmax(a * neural + b * linear)
    rows = np.arange(len(labels))
    p = np.exp(log_p)
    loss = -log_p[rows, labels].mean()
    grad_a = ((p * neural).sum(1) - neural[rows, labels]).mean()
    grad_b = ((p * linear).sum(1) - linear[rows, labels]).mean()
    return loss, np.array([grad_a, grad_b])


def fit_blend(neural: np.ndarray, linear: np.ndarray, labels: np.ndarray) -> Blend:
    """The weights minimizing held-out log loss; ``neural``, ``linear``: ``(n, intents)`` scores.

    The log loss of a fixed-feature softmax is convex in ``(a, b)``, so L-BFGS-B within the
    bounds finds the optimum; it starts from the neural head alone (``a = 1, b = 0``).
    """
    from scipy.optimize import minimize

    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return Blend(1.0, 0.0)
    neural, linear = neural.astype(np.float64), linear.astype(np.float64)
    found = minimize(
        _loss_and_gradient,
        np.array([1.0, 0.0]),
        args=(neural, linear, labels),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None), (0.0, None)],
    )
    a, b = (float(v) for v in found.x)
    return Blend(a, b)


def in_domain_scores(blend: Blend, neural: np.ndarray, linear: np.ndarray, kind: InDomainScore) -> np.ndarray:
    """Higher = more in domain; compared with a fallback threshold chosen on the same kind."""
    z = blend.logits(neural.astype(np.float64), linear.astype(np.float64))
    if kind == "blend_logit":
        return z.max(1)
    if kind == "blend_probability":
        return np.exp(_log_softmax(z)).max(1)
    raise ValueError(f"unknown in-domain score {kind!r}")


def choose_in_domain(candidates: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[str, dict[str, float]]:
    """The candidate whose held-out ``(in-domain, out-of-domain)`` scores separate best (the area
    under the ROC curve), and every candidate's area. The first candidate wins ties and is kept
    when there are no out-of-domain scores to compare on."""
    from sklearn.metrics import roc_auc_score

    first = next(iter(candidates))
    if not all(len(in_domain) and len(out_of_domain) for in_domain, out_of_domain in candidates.values()):
        return first, {}
    areas: dict[str, float] = {}
    for name, (in_domain, out_of_domain) in candidates.items():
        truth = np.concatenate([np.ones(len(in_domain)), np.zeros(len(out_of_domain))])
        areas[name] = float(roc_auc_score(truth, np.concatenate([in_domain, out_of_domain])))
    return max(areas, key=lambda name: (areas[name], name == first)), areas
