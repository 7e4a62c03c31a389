"""Training's linear floor: fitted beside the neural head, blended with it on held-out data (stacking).

:func:`fit_floor` fits the floor (:class:`~malmoi.intent.linear.LinearFloor`) on the n-grams of
the utterances the first-pass network trained on; :func:`stack` then learns the blend on the
held-out share, which neither member saw: the two weights (:func:`~malmoi.intent.blend.fit_blend`)
and the in-domain score the fallback threshold applies to, whichever of the neural head's own and
the blended top logit separates held-out in-domain from out-of-domain utterances better. The
threshold is then chosen on that score, on the same held-out share (``training._calibrate``).
When training refits on every example, so does the floor (:func:`refit_floor`), keeping the blend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from malmoi.intent.blend import choose_in_domain, fit_blend
from malmoi.intent.fallback import Fallback, calibrate
from malmoi.intent.linear import LinearFloor
from malmoi.intent.scoring import IntentScorer, IntentScores, sentence_vectors
from malmoi.text.doc import Doc

__all__ = ["fallback_and_blend", "fit_floor", "in_domain_of", "refit_floor", "scored", "stack"]

Features = tuple[np.ndarray, np.ndarray]


def fit_floor(settings: Any, lexical: Any, features: Sequence[Features], labels: Sequence[int],
              num_intents: int) -> LinearFloor | None:
    """The floor on training utterances' n-grams, or None: ``intent: {floor: false}``, no lexical
    part (``lexical: none``: no n-grams to fit on), or fewer than two intents."""
    if not settings.floor or lexical is None or num_intents < 2:
        return None
    return LinearFloor.fit(settings, features, lexical.size, labels, num_intents)


def refit_floor(floor: LinearFloor, lexical: Any, features: Sequence[Features], labels: Sequence[int],
                num_intents: int) -> LinearFloor:
    """The floor fitted again on every example (training's second pass), with the blend chosen before."""
    fitted = LinearFloor.fit(floor.settings, features, lexical.size, labels, num_intents)
    return fitted.with_blend(floor.blend, floor.in_domain, floor.held_out)


def scored(encoder: Any, lexical: Any, scorer: IntentScorer, docs: Sequence[Doc],
           batch: int = 256) -> tuple[IntentScores, list[Features] | None]:
    """The neural head's scores of ``docs`` as parsing computes them, and their n-grams."""
    features = [lexical.transform(d) for d in docs] if lexical is not None else None
    chunks = [scorer.scores(sentence_vectors(encoder, lexical, scorer, docs[i : i + batch],
                                             features[i : i + batch] if features is not None else None)[1])
              for i in range(0, len(docs), batch)]
    if not chunks:
        empty = np.zeros((0, scorer.num_intents))
        return IntentScores(empty, np.zeros(0, np.int64), np.zeros(0), empty), features
    return IntentScores(*(np.concatenate([getattr(c, name) for c in chunks]) for name in
                          ("probabilities", "predicted", "in_domain", "logits"))), features


def stack(floor: LinearFloor, held_out: tuple[IntentScores, Sequence[Features]], labels: Sequence[int],
          held_out_ood: tuple[IntentScores, Sequence[Features]] | None) -> LinearFloor:
    """The floor with the blend learned on held-out utterances (``labels``: their intents) and the
    in-domain score chosen on them and the held-out out-of-domain ones."""
    neural, features = held_out
    gold = np.asarray(labels, np.int64)
    floor_scores = floor.scores(features)
    blend = fit_blend(neural.logits, floor_scores, gold)
    trial = floor.with_blend(blend, "blend_logit", {})
    blended = trial.blended(neural, features)
    ood_neural = ood_blended = np.zeros(0)
    if held_out_ood is not None and len(held_out_ood[1]):
        ood_neural = held_out_ood[0].in_domain
        ood_blended = trial.blended(*held_out_ood).in_domain
    choice, areas = choose_in_domain({"neural": (neural.in_domain, ood_neural),
                                      "blend_logit": (blended.in_domain, ood_blended)})
    figures = {
        "utterances": len(gold),
        "top1": {"neural": _top1(neural.logits, gold), "floor": _top1(floor_scores, gold),
                 "blend": _top1(blended.logits, gold)},
        "auroc": areas,
    }
    return floor.with_blend(blend, choice, figures)


def _top1(scores: np.ndarray, gold: np.ndarray) -> float:
    return round(float((scores.argmax(1) == gold).mean()), 6) if len(gold) else 0.0


def in_domain_of(encoder: Any, lexical: Any, scorer: IntentScorer, docs: Sequence[Doc],
                 floor: LinearFloor | None) -> np.ndarray:
    """The in-domain scores of ``docs`` that the fallback compares with its threshold: the blend's
    when the model has a floor, else the neural head's."""
    neural = scored(encoder, lexical, scorer, docs)
    if floor is not None and neural[1] is not None:
        return np.asarray(floor.blended(*neural).in_domain, np.float64)  # type: ignore[arg-type]
    return np.asarray(neural[0].in_domain, np.float64)


def fallback_and_blend(settings: Any, encoder: Any, lexical: Any, scorer: IntentScorer, floor: LinearFloor | None,
                       held_out: Sequence[Doc], held_out_intents: Sequence[int], held_out_ood: Sequence[Doc],
                       seen: Sequence[Doc], **how: Any) -> tuple[Fallback, LinearFloor | None]:
    """The fallback part, chosen on held-out utterances scored the way parsing scores them, and
    the floor with its blend learned on the same utterances (:func:`stack`). Without out-of-domain
    utterances, the training ones (``seen``) bound the threshold too (:func:`calibrate`)."""
    neural = scored(encoder, lexical, scorer, held_out)
    neural_ood = scored(encoder, lexical, scorer, held_out_ood) if held_out_ood else None
    in_domain = neural[0].in_domain
    in_domain_ood = neural_ood[0].in_domain if neural_ood is not None else None
    if floor is not None and neural[1] is not None:
        ood = (neural_ood[0], neural_ood[1]) if neural_ood is not None and neural_ood[1] is not None else None
        floor = stack(floor, (neural[0], neural[1]), list(held_out_intents), ood)
        in_domain = floor.blended(*neural).in_domain  # type: ignore[arg-type]
        in_domain_ood = floor.blended(*ood).in_domain if ood is not None else None
    seen_in_domain = in_domain_of(encoder, lexical, scorer, seen, floor) if not held_out_ood and seen else None
    fallback = calibrate(settings, in_domain.astype(np.float64),
                         in_domain_ood.astype(np.float64) if in_domain_ood is not None else None,
                         seen=seen_in_domain, score=floor.in_domain if floor is not None else "neural", **how)
    return fallback, floor
