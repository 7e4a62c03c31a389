"""Choosing the fallback threshold: below it, an utterance is out of domain.

Scores are "in-domain-ness" (higher = more in domain): the similarity to the nearest class
centre for the retrieval losses, the top softmax probability for cross-entropy
(:class:`malmoi.intent.scoring.IntentScorer`).

With held-out out-of-domain examples, the threshold maximizes a stated criterion
(:func:`choose_threshold`): the macro-F1 of in-domain vs out-of-domain (default), a target share
of out-of-domain utterances caught, or a target share of real requests refused. Without them,
only the last can be controlled, and it is estimated from held-out in-domain scores alone.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Criterion = Literal["macro_f1", "ood_recall", "false_fallback_rate"]


def macro_f1_threshold(in_domain: np.ndarray, out_of_domain: np.ndarray, ood_share: float | None = None) -> float:
    """Threshold maximizing the macro-F1 of in-domain vs out-of-domain on held-out scores.

    F1 depends on how many of each class there are. A bot's out-of-domain examples are however
    many its developer collected, not how often such requests come, so with ``ood_share`` the
    out-of-domain examples are weighted as if they were that share of all requests. Candidates
    are midpoints between consecutive distinct scores, so the choice does not sit exactly on a
    held-out example.
    """
    if len(in_domain) == 0 or len(out_of_domain) == 0:
        raise ValueError("need held-out in-domain and out-of-domain scores")
    scores = np.concatenate([in_domain, out_of_domain])
    is_ood = np.concatenate([np.zeros(len(in_domain), bool), np.ones(len(out_of_domain), bool)])
    weight_ood = 1.0
    if ood_share is not None:
        if not 0 < ood_share < 1:
            raise ValueError(f"ood_share must be in (0, 1), got {ood_share}")
        weight_ood = ood_share / (1 - ood_share) * len(in_domain) / len(out_of_domain)
    weights = np.where(is_ood, weight_ood, 1.0)
    order = np.argsort(scores, kind="stable")
    scores, is_ood, weights = scores[order], is_ood[order], weights[order]
    # Predict "out of domain" for the first k sorted examples, k = 0..n.
    ood_caught = np.concatenate([[0], np.cumsum(weights * is_ood)])  # true positives (OOD class)
    id_lost = np.concatenate([[0], np.cumsum(weights * ~is_ood)])  # in-domain predicted OOD
    n_ood, n_id = weight_ood * len(out_of_domain), float(len(in_domain))
    id_kept = n_id - id_lost
    ood_missed = n_ood - ood_caught
    f1_ood = 2 * ood_caught / np.maximum(2 * ood_caught + id_lost + ood_missed, 1)
    f1_id = 2 * id_kept / np.maximum(2 * id_kept + ood_missed + id_lost, 1)
    macro = (f1_ood + f1_id) / 2
    # Only cut between distinct scores (a threshold cannot split ties).
    valid = np.concatenate([[True], scores[1:] != scores[:-1], [True]])
    best = int(np.argmax(np.where(valid, macro, -1.0)))
    if best == 0:
        return float(scores[0] - 1e-6)
    if best == len(scores):
        return float(scores[-1] + 1e-6)
    return float((scores[best - 1] + scores[best]) / 2)


def quantile_threshold(in_domain: np.ndarray, false_fallback_rate: float) -> float:
    """Threshold letting ``false_fallback_rate`` of held-out in-domain utterances fall back.

    Used when a bot has no out-of-domain examples: all we can control is how often a
    real request is wrongly refused.
    """
    if len(in_domain) == 0:
        raise ValueError("need held-out in-domain scores")
    return float(np.quantile(in_domain, false_fallback_rate))


def ood_recall_threshold(in_domain: np.ndarray, out_of_domain: np.ndarray, target: float) -> float:
    """Lowest threshold that catches at least ``target`` of held-out out-of-domain utterances.

    The lowest such threshold refuses the fewest in-domain utterances; it sits halfway to the
    next higher score so it does not rest on a held-out example.
    """
    if len(out_of_domain) == 0:
        raise ValueError("need held-out out-of-domain scores")
    if not 0 < target <= 1:
        raise ValueError(f"target out-of-domain recall must be in (0, 1], got {target}")
    ood = np.sort(out_of_domain)
    needed = int(np.ceil(target * len(ood) - 1e-9))  # k lowest out-of-domain scores must fall below
    kth = ood[needed - 1]
    above = np.concatenate([in_domain, out_of_domain])
    above = above[above > kth]
    return float((kth + above.min()) / 2) if len(above) else float(kth + 1e-6)


def choose_threshold(
    in_domain: np.ndarray,
    out_of_domain: np.ndarray | None = None,
    *,
    criterion: Criterion = "macro_f1",
    target_ood_recall: float = 0.9,
    false_fallback_rate: float = 0.01,
    ood_share: float | None = None,
) -> tuple[float, str]:
    """The threshold for held-out scores under ``criterion``, and a sentence saying how.

    Without out-of-domain scores the criterion is always ``false_fallback_rate``.
    """
    if out_of_domain is None or len(out_of_domain) == 0:
        return quantile_threshold(in_domain, false_fallback_rate), (
            f"{false_fallback_rate:.1%} quantile of held-out in-domain scores (no out-of-domain data)"
        )
    if criterion == "macro_f1":
        share = f", out-of-domain weighted as {ood_share:.0%} of requests" if ood_share is not None else ""
        return macro_f1_threshold(in_domain, out_of_domain, ood_share), (
            f"maximizes the macro-F1 of in-domain vs out-of-domain on held-out data{share}"
        )
    if criterion == "ood_recall":
        return ood_recall_threshold(in_domain, out_of_domain, target_ood_recall), (
            f"catches {target_ood_recall:.1%} of held-out out-of-domain utterances"
        )
    if criterion == "false_fallback_rate":
        return quantile_threshold(in_domain, false_fallback_rate), (
            f"refuses {false_fallback_rate:.1%} of held-out in-domain utterances"
        )
    raise ValueError(f"unknown threshold criterion {criterion!r}")
