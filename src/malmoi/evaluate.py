"""Metrics shared by training (validation), ``malmoi test`` and the benchmarks.

:func:`evaluate` parses labelled data once and returns an :class:`Evaluation`: the figures
(intent accuracy, per-intent and per-entity-type scores, fallback figures) and one
:class:`Record` per utterance (gold and predicted intent, the top candidates, the in-domain
score, gold and predicted spans), which the HTML report (:mod:`malmoi.report`) and ``malmoi
compare`` read instead of parsing again.

    >>> evaluation = evaluate(model, data.examples, data.ood)          # doctest: +SKIP
    >>> evaluation.intent_accuracy, evaluation.per_intent["weather"].f1  # doctest: +SKIP
    (0.99, 0.98)
    >>> [r.text for r in evaluation.errors()][:3]                       # doctest: +SKIP
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from malmoi.entity.metrics import entity_confusion, span_scores
from malmoi.labels import FALLBACK
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
    """A plain aligned text table; Korean and other wide characters take two columns."""
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(text_width(c), *(text_width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(_pad(c, w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(_pad(v, w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(row.rstrip() for row in [line, sep, *body])


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - text_width(text))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


# How many intent candidates a record keeps: enough to see what the model hesitated between.
TOP_CANDIDATES = 3


@dataclass(frozen=True)
class Candidate:
    """One ranked intent of a parse: its name and the model's confidence in it."""

    intent: str
    confidence: float


@dataclass(frozen=True)
class Record:
    """One evaluated utterance: what the data says and what the model answered.

    ``gold_intent`` is ``None`` for an out-of-domain utterance. ``predicted_intent`` is the
    nearest intent, whether or not the model fell back (``fallback``); ``in_domain_score`` is
    the score compared with the threshold (below it, the model falls back). Spans are
    ``(start, end, type)`` character offsets into ``text``.
    """

    text: str
    gold_intent: str | None
    predicted_intent: str
    candidates: tuple[Candidate, ...]
    in_domain_score: float
    fallback: bool
    gold_spans: tuple[Span, ...] = ()
    predicted_spans: tuple[Span, ...] = ()
    source: str = ""

    @property
    def out_of_domain(self) -> bool:
        return self.gold_intent is None

    @property
    def answer(self) -> str:
        """The intent the model answers with: ``fallback`` when it fell back."""
        return FALLBACK if self.fallback else self.predicted_intent

    @property
    def intent_correct(self) -> bool:
        """In domain: the right intent and no fallback; out of domain: it fell back."""
        if self.out_of_domain:
            return self.fallback
        return not self.fallback and self.predicted_intent == self.gold_intent

    @property
    def entities_correct(self) -> bool:
        return set(self.gold_spans) == set(self.predicted_spans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "gold_intent": self.gold_intent,
            "predicted_intent": self.predicted_intent,
            "candidates": [[c.intent, c.confidence] for c in self.candidates],
            "in_domain_score": self.in_domain_score,
            "fallback": self.fallback,
            "gold_spans": [list(s) for s in self.gold_spans],
            "predicted_spans": [list(s) for s in self.predicted_spans],
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(
            text=str(data["text"]),
            gold_intent=data["gold_intent"],
            predicted_intent=str(data["predicted_intent"]),
            candidates=tuple(Candidate(str(name), float(conf)) for name, conf in data.get("candidates", [])),
            in_domain_score=float(data["in_domain_score"]),
            fallback=bool(data["fallback"]),
            gold_spans=tuple((int(s), int(e), str(t)) for s, e, t in data.get("gold_spans", [])),
            predicted_spans=tuple((int(s), int(e), str(t)) for s, e, t in data.get("predicted_spans", [])),
            source=str(data.get("source", "")),
        )


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one class (:func:`malmoi.metrics.prf`), with its counts."""

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int
    correct: int

    @classmethod
    def of(cls, correct: int, gold: int, predicted: int) -> Scores:
        return cls.from_prf(prf(correct, gold, predicted))

    @classmethod
    def from_prf(cls, figures: dict[str, float]) -> Scores:
        """From :func:`malmoi.metrics.prf`'s dictionary."""
        return cls(figures["precision"], figures["recall"], figures["f1"], int(figures["support"]),
                   int(figures["predicted"]), int(figures["correct"]))

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support,
                "predicted": self.predicted, "correct": self.correct}


@dataclass(frozen=True)
class EntityFigures:
    """Exact-span entity scores: micro over every type, per type, and the kinds of error.

    ``confusion`` is :func:`malmoi.entity.metrics.entity_confusion`'s breakdown (``wrong_type``,
    ``wrong_boundary``, ``wrong_type_and_boundary``, ``missed``, ``spurious``, ``by_type``).
    """

    micro: Scores
    per_type: dict[str, Scores]
    confusion: dict[str, Any]

    @property
    def precision(self) -> float:
        return self.micro.precision

    @property
    def recall(self) -> float:
        return self.micro.recall

    @property
    def f1(self) -> float:
        return self.micro.f1


@dataclass(frozen=True)
class FallbackFigures:
    """How fallback behaved. Without out-of-domain data only ``false_fallback_rate`` is known."""

    false_fallback_rate: float
    accuracy: float | None = None
    ood_recall: float | None = None
    ood_precision: float | None = None
    ood_f1: float | None = None
    auroc: float | None = None
    in_domain: int = 0
    out_of_domain: int = 0

    def to_dict(self) -> dict[str, float | None]:
        if self.accuracy is None:
            return {"false_fallback_rate": self.false_fallback_rate}
        return {"accuracy": self.accuracy, "false_fallback_rate": self.false_fallback_rate,
                "ood_recall": self.ood_recall, "ood_precision": self.ood_precision, "ood_f1": self.ood_f1,
                "in_domain": self.in_domain, "out_of_domain": self.out_of_domain, "auroc": self.auroc}


@dataclass
class Evaluation:
    """A model measured on labelled data: the figures and one :class:`Record` per utterance.

    ``records`` are the in-domain utterances, ``ood_records`` the out-of-domain ones, in the
    order given. ``sentence_vectors`` (``(len(records) + len(ood_records), dim)``, in that
    order) are the vectors the intent head compared with the class centres; they are kept in
    memory for the report's projection and not written by :meth:`to_dict`.
    """

    records: list[Record]
    ood_records: list[Record]
    threshold: float
    intent_accuracy: float
    in_domain_accuracy: float
    per_intent: dict[str, Scores]
    entity: EntityFigures
    fallback: FallbackFigures
    sentence_vectors: np.ndarray | None = field(default=None, repr=False)

    def errors(self) -> list[Record]:
        """The utterances whose intent the model got wrong (fallback included), in order."""
        return [r for r in (*self.records, *self.ood_records) if not r.intent_correct]

    def to_dict(self, *, records: bool = False) -> dict[str, Any]:
        """The figures as JSON-ready data (``malmoi test --json``); ``records`` adds every utterance."""
        out: dict[str, Any] = {
            "examples": len(self.records),
            "intent_accuracy": self.intent_accuracy,
            "in_domain_accuracy": self.in_domain_accuracy,
            "entity": {
                **{k: v for k, v in self.entity.micro.to_dict().items() if k in _PRF_KEYS},
                "per_type": {k: v.to_dict() for k, v in self.entity.per_type.items()},
                "confusion": self.entity.confusion,
            },
            "threshold": self.threshold,
            "per_intent": {k: {key: v.to_dict()[key] for key in _PRF_KEYS} for k, v in self.per_intent.items()},
            "fallback": self.fallback.to_dict(),
        }
        if records:
            out["records"] = [r.to_dict() for r in self.records]
            out["ood_records"] = [r.to_dict() for r in self.ood_records]
        return out

    @classmethod
    def from_records(
        cls,
        records: Sequence[Record],
        ood_records: Sequence[Record] = (),
        *,
        threshold: float,
        sentence_vectors: np.ndarray | None = None,
    ) -> Evaluation:
        """Compute every figure from per-utterance records (what :func:`evaluate` and a saved report hold)."""
        records, ood_records = list(records), list(ood_records)
        n = len(records)
        gold_spans = [set(r.gold_spans) for r in records]
        predicted_spans = [set(r.predicted_spans) for r in records]
        scores = span_scores(gold_spans, predicted_spans)
        entity = EntityFigures(
            micro=Scores.from_prf(scores["micro"]),
            per_type={k: Scores.from_prf(v) for k, v in scores["per_type"].items()},
            confusion=entity_confusion(gold_spans, predicted_spans),
        )
        id_fallback = np.array([r.fallback for r in records], dtype=bool)
        if ood_records:
            figures = fallback_metrics(id_fallback, np.array([r.fallback for r in ood_records], dtype=bool))
            fallback = FallbackFigures(
                false_fallback_rate=figures["false_fallback_rate"], accuracy=figures["accuracy"],
                ood_recall=figures["ood_recall"], ood_precision=figures["ood_precision"], ood_f1=figures["ood_f1"],
                in_domain=int(figures["in_domain"]), out_of_domain=int(figures["out_of_domain"]),
                auroc=auroc(np.array([r.in_domain_score for r in records]),
                            np.array([r.in_domain_score for r in ood_records])),
            )
        else:
            fallback = FallbackFigures(false_fallback_rate=float(id_fallback.mean()) if n else 0.0, in_domain=n)
        gold = [r.gold_intent or "" for r in records]
        top = [r.predicted_intent for r in records]
        return cls(
            records=records,
            ood_records=ood_records,
            threshold=threshold,
            intent_accuracy=sum(t == g for t, g in zip(top, gold)) / n if n else 0.0,
            in_domain_accuracy=sum(r.intent_correct for r in records) / n if n else 0.0,
            per_intent=_per_intent(gold, top),
            entity=entity,
            fallback=fallback,
            sentence_vectors=sentence_vectors,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """The evaluation that :meth:`to_dict` (``records=True``) or a report's data holds.

        Figures are computed again from the records.
        """
        threshold = data["threshold"] if "threshold" in data else data["figures"]["threshold"]
        return cls.from_records(
            [Record.from_dict(r) for r in data["records"]],
            [Record.from_dict(r) for r in data.get("ood_records", [])],
            threshold=float(threshold),
        )


def evaluate(model: Any, examples: Sequence[Any], ood: Sequence[Any] = (), batch_size: int = 256, *,
             now: datetime | None = None) -> Evaluation:
    """Score a ``Model`` on labelled in-domain ``Example``s and out-of-domain ones.

    Each utterance is parsed once. ``intent_accuracy`` counts the top intent, ignoring
    fallback; ``in_domain_accuracy`` needs the right intent and no fallback. Entity figures are
    exact-span micro scores, per type, with the kinds of error; fallback figures compare the
    in-domain with the out-of-domain utterances when ``ood`` is given. ``now``: the reference time
    of relative dates (default: the clock).
    """
    vectors: list[np.ndarray] = []

    def run(items: Sequence[Any]) -> list[Record]:
        records = []
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            results, scores = model.parse_with_scores([e.text for e in chunk], **({} if now is None else {"now": now}))
            for example, result, score in zip(chunk, results, scores):
                records.append(_record(example, result, float(score)))
                doc = result.doc
                if doc is not None and "sentence" in doc.vectors:
                    vectors.append(np.asarray(doc.vectors["sentence"], dtype=np.float32))
        return records

    records, ood_records = run(examples), run(ood)
    complete = len(vectors) == len(records) + len(ood_records) and vectors
    return Evaluation.from_records(
        records, ood_records, threshold=float(model.threshold),
        sentence_vectors=np.stack(vectors) if complete else None,
    )


def _record(example: Any, result: Any, in_domain_score: float) -> Record:
    return Record(
        text=example.text,
        gold_intent=example.intent,
        predicted_intent=result.intent_ranking[0].name,
        candidates=tuple(Candidate(s.name, float(s.confidence)) for s in result.intent_ranking[:TOP_CANDIDATES]),
        in_domain_score=in_domain_score,
        fallback=bool(result.fallback),
        gold_spans=tuple(sorted((e.start, e.end, e.type) for e in example.entities)),
        predicted_spans=tuple(sorted((e.start, e.end, e.entity) for e in result.entities)),
        source=getattr(example, "source", ""),
    )


def _per_intent(gold: list[str], predicted: list[str]) -> dict[str, Scores]:
    out = {}
    for name in sorted(set(gold)):
        tp = sum(g == name and p == name for g, p in zip(gold, predicted))
        out[name] = Scores.of(tp, sum(g == name for g in gold), sum(p == name for p in predicted))
    return out
