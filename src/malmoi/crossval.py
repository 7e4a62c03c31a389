"""k-fold cross-validation of a bot directory: train on k-1 folds, score the k-th, k times.

The folds are stratified and seeded (:func:`malmoi.data.split.stratified_folds`): every intent,
and the out-of-domain utterances, are spread evenly over them. Every utterance is scored once, by a
model that never saw it, so the figures say how the bot answers what it has not seen, with their
spread over the folds (``malmoi test BOT_DIR --cross-validate 5``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from malmoi.data.schema import BotData, Example
from malmoi.data.split import stratified_folds
from malmoi.evaluate import Evaluation, evaluate
from malmoi.settings import BotConfig

__all__ = ["CrossValidation", "Fold", "cross_validate"]


@dataclass(frozen=True)
class Fold:
    number: int  # 1-based
    train: int
    train_ood: int
    evaluation: Evaluation
    seconds: float


def _figures(evaluation: Evaluation) -> dict[str, float]:
    figures = {"intent accuracy": evaluation.intent_accuracy, "in-domain accuracy": evaluation.in_domain_accuracy,
               "false-fallback rate": evaluation.fallback.false_fallback_rate}
    if evaluation.fallback.ood_recall is not None:
        figures["fallback recall"] = evaluation.fallback.ood_recall
        figures["fallback accuracy"] = float(evaluation.fallback.accuracy or 0.0)
    if any(r.gold_spans for r in evaluation.records):
        figures["entity F1"] = evaluation.entity.f1
    return figures


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


@dataclass
class CrossValidation:
    k: int
    seed: int
    folds: list[Fold] = field(default_factory=list)

    def figures(self) -> dict[str, list[float]]:
        """Each figure's value in every fold."""
        per_fold = [_figures(f.evaluation) for f in self.folds]
        return {name: [f[name] for f in per_fold] for name in per_fold[0]} if per_fold else {}

    def per_intent_f1(self) -> dict[str, list[float]]:
        """Each intent's F1 in every fold that tested it."""
        found: dict[str, list[float]] = {}
        for fold in self.folds:
            for name, scores in fold.evaluation.per_intent.items():
                if scores.support:
                    found.setdefault(name, []).append(scores.f1)
        return dict(sorted(found.items()))

    def pooled(self) -> Evaluation:
        """Every utterance once, each scored by the fold model that did not train on it."""
        records = [r for f in self.folds for r in f.evaluation.records]
        ood = [r for f in self.folds for r in f.evaluation.ood_records]
        threshold = sum(f.evaluation.threshold for f in self.folds) / len(self.folds)
        return Evaluation.from_records(records, ood, threshold=threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k, "seed": self.seed,
            "figures": {name: dict(zip(("mean", "sd"), mean_sd(v)), folds=v) for name, v in self.figures().items()},
            "per_intent_f1": {name: dict(zip(("mean", "sd"), mean_sd(v)), folds=v)
                              for name, v in self.per_intent_f1().items()},
            "folds": [{"fold": f.number, "train": f.train, "train_ood": f.train_ood,
                       "test": len(f.evaluation.records), "test_ood": len(f.evaluation.ood_records),
                       "seconds": round(f.seconds, 1)} for f in self.folds],
        }


def cross_validate(config: BotConfig, data: BotData, k: int, *, seed: int = 0, progress: bool = False,
                   say: Callable[[str], None] = lambda message: None) -> tuple[CrossValidation, Any]:
    """Train and score ``k`` models; returns the cross-validation and the last fold's model.

    Raises ``ValueError`` when an intent has fewer than two utterances (a fold would have none of
    it to train on).
    """
    from malmoi.model.model import Model

    counts: dict[str, int] = {}
    for e in data.examples:
        counts[e.intent or ""] = counts.get(e.intent or "", 0) + 1
    few = sorted(name for name, n in counts.items() if n < 2)
    if few:
        raise ValueError(f"cross-validation needs at least 2 utterances of each intent; {', '.join(few)} "
                         "has fewer")
    examples: list[Example] = [*data.examples, *data.ood]
    fold_of = stratified_folds(examples, k, seed=seed)
    result = CrossValidation(k=k, seed=seed)
    model = None
    for number in range(k):
        started = time.monotonic()
        train = [e for e, f in zip(examples, fold_of) if f != number]
        held = [e for e, f in zip(examples, fold_of) if f == number]
        train_in, train_ood = [e for e in train if e.intent], [e for e in train if not e.intent]
        say(f"fold {number + 1}/{k}: training on {len(train_in)} utterances ({len(train_ood)} out of domain) ...")
        model = Model(config).fit(train_in, train_ood, progress=progress)
        evaluation = evaluate(model, [e for e in held if e.intent], [e for e in held if not e.intent])
        result.folds.append(Fold(number + 1, len(train_in), len(train_ood), evaluation, time.monotonic() - started))
        say(f"fold {number + 1}/{k}: intent accuracy {evaluation.intent_accuracy:.4f}, in-domain accuracy "
            f"{evaluation.in_domain_accuracy:.4f} ({time.monotonic() - started:.0f} s)")
    return result, model
