"""Metrics shared by training (validation), ``malmoi test`` and the benchmarks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from malmoi.entity.metrics import entity_report, span_scores
from malmoi.metrics import prf

Span = tuple[int, int, str]

_PRF_KEYS = ("precision", "recall", "f1", "support")


def span_prf(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]) -> dict[str, float]:
    """Micro precision, recall and F1 of exact (start, end, type) matches (conlleval semantics).

    The ``micro`` figures of :func:`malmoi.entity.metrics.span_scores`; an undefined ratio
    follows :func:`malmoi.metrics.prf`.
    """
    micro = span_scores(gold, predicted)["micro"]
    return {key: micro[key] for key in _PRF_KEYS}


def fallback_metrics(in_domain_fallback: np.ndarray, ood_fallback: np.ndarray) -> dict[str, float]:
    """How well fallback separates held-out in-domain from out-of-domain utterances.

    ``accuracy`` counts an in-domain utterance right when it does not fall back and an
    out-of-domain one right when it does (Kochat's "fallback detection" figure). ``ood_recall``,
    ``ood_precision`` and ``ood_f1`` treat falling back as finding an out-of-domain utterance
    (:func:`malmoi.metrics.prf`: precision is 0 when nothing falls back).
    """
    n_id, n_ood = len(in_domain_fallback), len(ood_fallback)
    false_fallbacks = int(np.sum(in_domain_fallback))
    caught = int(np.sum(ood_fallback))
    ood = prf(caught, n_ood, false_fallbacks + caught)  # out-of-domain as the class to find
    return {
        "accuracy": (n_id - false_fallbacks + caught) / max(n_id + n_ood, 1),
        "false_fallback_rate": false_fallbacks / max(n_id, 1),
        "ood_recall": ood["recall"],
        "ood_precision": ood["precision"],
        "ood_f1": ood["f1"],
        "in_domain": n_id,
        "out_of_domain": n_ood,
    }


def auroc(in_domain_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """Probability that a random in-domain utterance scores above a random out-of-domain one."""
    scores = np.concatenate([in_domain_scores, ood_scores])
    ranks = _average_ranks(scores)
    n_id, n_ood = len(in_domain_scores), len(ood_scores)
    if n_id == 0 or n_ood == 0:
        return float("nan")
    rank_sum = ranks[:n_id].sum()
    return float((rank_sum - n_id * (n_id + 1) / 2) / (n_id * n_ood))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain aligned text table."""
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join([line, sep, *body])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def evaluate(model: Any, examples: Sequence[Any], ood: Sequence[Any] = (), batch_size: int = 256) -> dict[str, Any]:
    """Score a ``Model`` on labelled in-domain ``Example``s and out-of-domain ones.

    Returns intent accuracy (top intent, ignoring fallback), in-domain accuracy (right
    intent and no fallback), entity span F1 (micro; ``per_type`` and the error breakdown
    ``confusion`` under ``entity``), and fallback metrics when ``ood`` is given.
    """

    def run(items: Sequence[Any]):
        results, scores = [], []
        for start in range(0, len(items), batch_size):
            r, s = model.parse_with_scores([e.text for e in items[start : start + batch_size]])
            results += r
            scores.append(s)
        return results, (np.concatenate(scores) if scores else np.zeros(0))

    id_results, id_scores = run(examples)
    top = [r.intent_ranking[0].name for r in id_results]
    gold_intents = [e.intent for e in examples]
    gold_spans = [{(e.start, e.end, e.type) for e in ex.entities} for ex in examples]
    predicted_spans = [{(e.start, e.end, e.entity) for e in r.entities} for r in id_results]
    report: dict[str, Any] = {
        "examples": len(examples),
        "intent_accuracy": float(np.mean([t == g for t, g in zip(top, gold_intents)])) if examples else 0.0,
        "in_domain_accuracy": float(
            np.mean([(not r.fallback) and t == g for r, t, g in zip(id_results, top, gold_intents)])
        ) if examples else 0.0,
        # Micro figures, then per entity type and the kinds of error (malmoi.entity.metrics).
        "entity": {**span_prf(gold_spans, predicted_spans), **entity_report(gold_spans, predicted_spans)},
        "threshold": model.threshold,
        "per_intent": _per_intent(gold_intents, top),
    }
    if ood:
        ood_results, ood_scores = run(ood)
        report["fallback"] = fallback_metrics(
            np.array([r.fallback for r in id_results]), np.array([r.fallback for r in ood_results])
        )
        report["fallback"]["auroc"] = auroc(id_scores, ood_scores)
    else:
        rate = float(np.mean([r.fallback for r in id_results])) if examples else 0.0
        report["fallback"] = {"false_fallback_rate": rate}
    return report


def _per_intent(gold: list[str], predicted: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in sorted(set(gold)):
        tp = sum(g == name and p == name for g, p in zip(gold, predicted))
        scores = prf(tp, sum(g == name for g in gold), sum(p == name for p in predicted))
        out[name] = {key: scores[key] for key in _PRF_KEYS}
    return out
