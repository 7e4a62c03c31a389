"""Find mislabelled utterances in a bot's data: examples in, ranked suspects out.

:func:`find_label_issues` runs PICO (:mod:`malmoi.clean.pico`) with the checker named in the
settings (:data:`malmoi.registry.checkers`) and ranks every example by the probability that its
given intent is wrong. It reads no files and changes nothing; :mod:`malmoi.clean.files` writes
the report and, when asked, the corrected data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from malmoi.clean.checker import CheckerFeatures, LabelChecker
from malmoi.clean.pico import PicoResult, SparseRows, pico
from malmoi.component_settings import StrictModel
from malmoi.data.schema import Example

__all__ = ["CleanResult", "CleanSettings", "Neighbour", "Suspect", "build_checker", "find_label_issues"]


class CleanSettings(StrictModel):
    """Settings of one cleaning run (``malmoi clean`` flags)."""

    # PICO's rounds of check-vote-correct (the stopping rule may end it earlier). 2: the votes are
    # counted again each round, so later rounds grow overconfident and flag more clean utterances;
    # detection F1 peaked at round 1 (CLINC150) and 2 (ParaKQC) of 4 at 10 % noise
    # (docs/cleaning.md; chosen on those two benchmarks, no held-out data set).
    rounds: int = Field(2, ge=1, le=50)
    # Random partitions per round: each example is checked once per split by a checker that did
    # not train on it. 3 x 5 = 15 checkers a round; more splits, steadier votes.
    splits: int = Field(3, ge=1, le=50)
    folds: int = Field(5, ge=2, le=50)
    # Stop when fewer than this share of examples changed their most probable intent in a round.
    tolerance: float = Field(0.002, ge=0.0, le=1.0)
    top_k: int = Field(5, ge=2, le=100)  # intents kept per example between rounds (sparse storage)
    # An example is a suspect when P(given intent wrong) reaches this (0.5: another intent is
    # more probable than the given one).
    threshold: float = Field(0.5, gt=0.0, lt=1.0)
    workers: int = Field(1, ge=1, le=256)  # checker processes
    # Run the checkers as Ray tasks on this cluster instead ("local": start Ray here; needs ray).
    ray_address: str | None = None
    neighbours: int = Field(3, ge=0, le=20)  # nearest other utterances shown with each suspect
    seed: int = 0
    checker: Any = Field(default_factory=lambda: {"type": "lexical-head"}, validate_default=True)

    @field_validator("checker", mode="before")
    @classmethod
    def _checker_settings(cls, value: Any) -> Any:
        from pydantic import BaseModel

        from malmoi import registry
        if isinstance(value, BaseModel):
            return value
        if isinstance(value, str):
            value = {"type": value}
        if not isinstance(value, dict):
            raise ValueError("checker: expected a mapping like {type: lexical-head}")
        values = dict(value)
        try:
            name = registry.checkers.resolve(str(values.get("type", "lexical-head")))
        except registry.RegistryError as exc:
            raise ValueError(str(exc)) from None
        values["type"] = name
        return registry.checkers.get(name).validate(values)


@dataclass(frozen=True)
class Neighbour:
    text: str
    intent: str
    similarity: float
    source: str


@dataclass(frozen=True)
class Suspect:
    """An utterance whose given intent is in doubt, with what a person needs to decide."""

    rank: int
    text: str
    given: str
    suggested: str
    p_wrong: float  # P(given intent wrong) after correction
    p_suggested: float  # P(suggested intent)
    times_checked: int
    source: str  # "path:line"
    conflict: bool  # the same text is under another intent too
    neighbours: tuple[Neighbour, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "text": self.text,
            "given": self.given,
            "suggested": self.suggested,
            "p_wrong": round(self.p_wrong, 4),
            "p_suggested": round(self.p_suggested, 4),
            "times_checked": self.times_checked,
            "source": self.source,
            "conflict": self.conflict,
            "neighbours": [
                {"text": n.text, "intent": n.intent, "similarity": round(n.similarity, 4), "source": n.source}
                for n in self.neighbours
            ],
        }


@dataclass
class CleanResult:
    """Every example's doubt (``p_wrong``, ``suggested``, in the examples' order) and the suspects."""

    examples: list[Example]
    intents: list[str]
    p_wrong: np.ndarray  # (n,)
    suggested: list[str]  # most probable intent of each example
    suspects: list[Suspect]
    pico: PicoResult
    settings: CleanSettings
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "examples": len(self.examples),
            "intents": len(self.intents),
            "suspects": len(self.suspects),
            "conflicting_copies": sum(s.conflict for s in self.suspects),
            "rounds": self.pico.rounds,
            "seconds": self.seconds,
            "settings": self.settings.model_dump(mode="json"),
        }


def build_checker(settings: CleanSettings) -> LabelChecker:
    from malmoi import registry
    checker = registry.checkers.get(settings.checker.type).factory(settings.checker)
    if not isinstance(checker, LabelChecker):
        raise TypeError(f"checker {settings.checker.type!r} built a {type(checker).__name__}, not a LabelChecker")
    return checker


def find_label_issues(
    examples: Sequence[Example],
    language: str = "ko",
    settings: CleanSettings | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    on_checker: Callable[[int, int], None] | None = None,
) -> CleanResult:
    """Rank ``examples`` by the probability that their intent is wrong (PICO).

    Examples with the same text under several intents (conflicting duplicates) are all kept:
    they share a fold, and each copy whose intent is not the most probable one is a suspect.

    Raises ``ValueError`` when the data cannot be cleaned (fewer than two intents).

    >>> result = find_label_issues(examples, "ko")  # doctest: +SKIP
    >>> result.suspects[0].text, result.suspects[0].suggested  # doctest: +SKIP
    """
    from malmoi.text.doc import Analyzer

    settings = settings or CleanSettings()
    examples = [e for e in examples if e.intent is not None]
    intents = sorted({e.intent for e in examples if e.intent is not None})
    if len(intents) < 2:
        raise ValueError(
            f"cleaning compares intents with each other; found {len(intents)} intent(s) with examples, "
            "expected 2 or more"
        )
    started = time.perf_counter()
    index = {name: i for i, name in enumerate(intents)}
    labels = np.array([index[e.intent] for e in examples if e.intent is not None], dtype=np.int64)
    group_of: dict[str, int] = {}
    groups = np.array([group_of.setdefault(e.text, len(group_of)) for e in examples], dtype=np.int64)

    checker = build_checker(settings)
    docs = Analyzer(language).many([e.text for e in examples])
    features = checker.featurize(docs)
    featurized = time.perf_counter()
    result = pico(
        checker,
        features,
        labels,
        len(intents),
        groups=groups,
        rounds=settings.rounds,
        splits=settings.splits,
        folds=settings.folds,
        top_k=settings.top_k,
        tolerance=settings.tolerance,
        workers=settings.workers,
        ray_address=settings.ray_address,
        seed=settings.seed,
        progress=progress,
        on_checker=on_checker,
    )
    checked = time.perf_counter()
    result.posterior = _share_conflicts(result.posterior, labels, groups)
    p_wrong = 1.0 - result.posterior.probability(labels)
    best = result.posterior.argmax()
    suggested = [intents[int(i)] for i in best]
    suspects = _suspects(examples, intents, labels, groups, p_wrong, result, features, settings)
    return CleanResult(
        list(examples),
        intents,
        p_wrong,
        suggested,
        suspects,
        result,
        settings,
        {
            "features": round(featurized - started, 2),
            "checking": round(checked - featurized, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    )


def _share_conflicts(posterior: SparseRows, labels: np.ndarray, groups: np.ndarray) -> SparseRows:
    """Copies of one text under different intents get one distribution, their mean: the text has
    one meaning, and the copies whose intent is not the most probable one become suspects."""
    rows_of: dict[int, list[int]] = {}
    for i, g in enumerate(groups.tolist()):
        rows_of.setdefault(g, []).append(i)
    conflicts = [rows for rows in rows_of.values() if len({int(labels[i]) for i in rows}) > 1]
    if not conflicts:
        return posterior
    indices, values = posterior.indices.copy(), posterior.values.copy()
    for rows in conflicts:
        shared = SparseRows.from_dense(posterior.dense(np.array(rows)).mean(0, keepdims=True), indices.shape[1])
        indices[rows], values[rows] = shared.indices[0], shared.values[0]
    return SparseRows(indices, values, posterior.classes)


def _suspects(
    examples: list[Example],
    intents: list[str],
    labels: np.ndarray,
    groups: np.ndarray,
    p_wrong: np.ndarray,
    result: PicoResult,
    features: CheckerFeatures,
    settings: CleanSettings,
) -> list[Suspect]:
    posterior = result.posterior
    best = posterior.argmax()
    # The suggestion is the most probable intent other than the given one.
    dense_rank = np.where(posterior.indices == labels[:, None], -1.0, posterior.values)
    other = posterior.indices[np.arange(len(labels)), dense_rank.argmax(1)]
    other_p = dense_rank.max(1)
    chosen = np.flatnonzero((p_wrong >= settings.threshold) & (best != labels))
    # Ranked by p_wrong; ties (common at p_wrong ≈ 1) broken by how far the suggestion leads the
    # given intent, so the clearest cases come first.
    margin = other_p - posterior.probability(labels)
    chosen = chosen[np.lexsort((-margin[chosen], -p_wrong[chosen]))]
    group_intents: dict[int, set[int]] = {}
    for g, label in zip(groups.tolist(), labels.tolist()):
        group_intents.setdefault(g, set()).add(label)
    neighbours: dict[int, tuple[Neighbour, ...]] = {}
    if settings.neighbours and len(chosen):
        found, similarity = features.cosine_neighbours(chosen, settings.neighbours)
        for row, hits, scores in zip(chosen.tolist(), found, similarity):
            neighbours[row] = tuple(
                Neighbour(examples[j].text, intents[labels[j]], float(s), examples[j].source)
                for j, s in zip(hits.tolist(), scores.tolist())
                if j >= 0
            )
    return [
        Suspect(
            rank=rank,
            text=examples[i].text,
            given=intents[labels[i]],
            suggested=intents[int(other[i])],
            p_wrong=float(p_wrong[i]),
            p_suggested=float(other_p[i]),
            times_checked=int(result.times_checked[i]),
            source=examples[i].source,
            conflict=len(group_intents[int(groups[i])]) > 1,
            neighbours=neighbours.get(i, ()),
        )
        for rank, i in enumerate(chosen.tolist(), 1)
    ]
