"""Choosing the fallback threshold: below it, an utterance is out of domain.

Scores are "in-domain-ness" (higher = more in domain): the similarity to the nearest class
centre for the retrieval losses, the top softmax probability for cross-entropy
(:class:`malmoi.intent.scoring.IntentScorer`).

With held-out out-of-domain examples, the threshold maximizes a stated criterion
(:func:`choose_threshold`): the macro-F1 of in-domain vs out-of-domain (default), a target share
of out-of-domain utterances caught, or a target share of real requests refused. Without them,
only the last can be controlled, and it is estimated from held-out in-domain scores alone.

The chosen threshold is a part of the model (:class:`Fallback`, ``fallback.v1``), made by
:func:`calibrate` both when training ends and when ``Model.calibrate`` chooses again on other data.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from malmoi.parts import LoadContext, Part

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


class Fallback(Part):
    """``fallback.v1``: in-domain scores below ``threshold`` fall back (settings: the bot's
    :class:`~malmoi.settings.IntentSettings`; ``fallback: false`` never falls back).

    ``state`` is the threshold and how it was chosen (what ``report["calibration"]`` shows).
    """

    def __init__(self, settings: Any, threshold: float, how: dict[str, Any] | None = None):
        if not math.isfinite(threshold):
            raise ValueError(f"the fallback threshold must be a finite number, not {threshold!r}")
        self.settings = settings
        self.threshold = float(threshold)
        self.how = dict(how or {})

    def falls_back(self, in_domain: float, has_word: bool) -> bool:
        """Whether an utterance with this in-domain score is out of domain. One without a single
        letter ("", "!!!", "1234") says nothing a bot could act on, however near a centre it is."""
        return bool(self.settings.fallback) and (in_domain < self.threshold or not has_word)

    def state(self) -> dict[str, Any]:
        return {**self.how, "threshold": self.threshold}

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> Fallback:
        threshold = state.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"the fallback threshold is {threshold!r}, not a number")
        return cls(settings, float(threshold), {k: v for k, v in state.items() if k != "threshold"})


def calibrate(settings: Any, in_domain: np.ndarray, out_of_domain: np.ndarray | None = None, *,
              seen: np.ndarray | None = None, **how: Any) -> Fallback:
    """The fallback part for held-out scores, chosen by the bot's ``settings`` (IntentSettings).

    Training calls it on its validation split, ``Model.calibrate`` on data the caller gives;
    ``how`` adds to the record (``source=...``). ``seen``: in-domain scores of the utterances the
    model trained on. Without out-of-domain scores the threshold is then never above their
    ``false_fallback_rate`` quantile either: a small bot holds out a handful of utterances, too few
    to place a 1 % quantile (their minimum stands in for it), and a threshold above the scores of
    its own training sentences makes the bot refuse what it was taught.
    """
    threshold, method = choose_threshold(
        in_domain,
        out_of_domain,
        criterion=settings.threshold,
        target_ood_recall=settings.target_ood_recall,
        false_fallback_rate=settings.false_fallback_rate,
        ood_share=settings.expected_ood_share,
    )
    held_out_ood = 0 if out_of_domain is None else len(out_of_domain)
    if not held_out_ood and seen is not None and len(seen):
        # The lower order statistic: at most that share of the training sentences falls back
        # (interpolating would refuse the lowest one of a few dozen).
        ceiling = float(np.quantile(seen, settings.false_fallback_rate, method="lower"))
        if ceiling < threshold:
            threshold = ceiling
            method += (f", lowered to the same quantile of the {len(seen)} training utterances' scores "
                       "(the held-out ones were too few to place it)")
    return Fallback(settings, threshold, {"method": method, "held_out_in_domain": len(in_domain),
                                          "held_out_ood": held_out_ood, **how})
