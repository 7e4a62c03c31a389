"""Choosing the fallback threshold: below it, an utterance is out of domain.

Scores are "in-domain-ness" (higher = more in domain): the cosine to the nearest class
centre for CosFace, the top softmax probability for cross-entropy.
"""

from __future__ import annotations

import numpy as np


def macro_f1_threshold(in_domain: np.ndarray, out_of_domain: np.ndarray) -> float:
    """Threshold maximizing the macro-F1 of in-domain vs out-of-domain on held-out scores.

    Candidates are midpoints between consecutive distinct scores, so the choice does not
    sit exactly on a held-out example.
    """
    if len(in_domain) == 0 or len(out_of_domain) == 0:
        raise ValueError("need held-out in-domain and out-of-domain scores")
    scores = np.concatenate([in_domain, out_of_domain])
    is_ood = np.concatenate([np.zeros(len(in_domain), bool), np.ones(len(out_of_domain), bool)])
    order = np.argsort(scores, kind="stable")
    scores, is_ood = scores[order], is_ood[order]
    # Predict "out of domain" for the first k sorted examples, k = 0..n.
    ood_caught = np.concatenate([[0], np.cumsum(is_ood)])  # true positives (OOD class)
    id_lost = np.concatenate([[0], np.cumsum(~is_ood)])  # in-domain predicted OOD
    n_ood, n_id = len(out_of_domain), len(in_domain)
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
