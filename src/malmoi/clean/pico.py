"""PICO: MultiSplit-Train-Check-Vote, then Probabilistic Iterative COrrection.

After the label-noise method of Clova's chatbot builder (Kang, Deview 2019, "레이블링 조금 잘못돼도
괜찮아요: Clova가 레이블 노이즈 잡는 법"; only the talk's slides describe it):

1. **MultiSplit-Train-Check-Vote.** ``splits`` random partitions of the data, each into ``folds``
   folds. A checker (:mod:`malmoi.clean.checker`) trains on all folds but one and checks the
   held-out fold, so every example is checked once per split by a checker that never saw it. The
   votes of one round are the mean of its checkers' probabilities, ``V_t(i) = p(C | checkers)``.
2. **Probabilistic iterative correction.** Each example's label is a distribution ``Q_t(i)``
   over intents, starting one-hot on the given label. Its history is a Markov chain of which only
   the previous round is kept: the prior of round t is ``Q_{t-1}(i) @ T_t`` with the intent
   transition matrix ``T_t[a, b] = p(C_t = b | C_{t-1} = a)``, estimated from the votes as the
   mean vote for ``b`` of the examples whose label is ``a`` (weighted by ``Q_{t-1}``). The prior
   and the votes combine by Bayes' rule: ``Q_t(i) ∝ prior_t(i) * V_t(i)``. A label moves only
   when the votes beat what the class as a whole says, and a little each round; the checkers of
   the next round train on ``Q_t`` as soft targets, so clean neighbours gradually pull noisy
   ones over.
3. **Stopping rule.** Stop after ``rounds`` rounds, or earlier when fewer than ``tolerance`` of
   the examples changed their most probable label in a round.

Each ``Q_t`` keeps its ``top_k`` largest entries per example (sparse storage: ``(n, k)`` index and
value arrays instead of ``(n, classes)``). Checkers run in parallel processes
(``concurrent.futures``), features shipped once per process, or as Ray tasks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from malmoi.clean.checker import CheckerFeatures, LabelChecker

__all__ = ["CheckerRunner", "PicoResult", "SparseRows", "pico"]

logger = logging.getLogger("malmoi")


@dataclass
class SparseRows:
    """Per-example distributions over classes, keeping the ``k`` largest entries of each row."""

    indices: np.ndarray  # (n, k) class ids
    values: np.ndarray  # (n, k) probabilities, each row sums to 1
    classes: int

    @classmethod
    def one_hot(cls, labels: np.ndarray, classes: int) -> SparseRows:
        return cls(labels[:, None].astype(np.int64), np.ones((len(labels), 1), np.float32), classes)

    @classmethod
    def from_dense(cls, dense: np.ndarray, k: int) -> SparseRows:
        k = min(k, dense.shape[1])
        indices = np.argpartition(-dense, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(dense, indices, 1).astype(np.float32)
        values /= np.maximum(values.sum(1, keepdims=True), 1e-12)
        return cls(indices.astype(np.int64), values, dense.shape[1])

    def dense(self, rows: np.ndarray | None = None) -> np.ndarray:
        indices = self.indices if rows is None else self.indices[rows]
        values = self.values if rows is None else self.values[rows]
        out = np.zeros((len(indices), self.classes), np.float32)
        np.put_along_axis(out, indices, values, 1)
        return out

    def argmax(self) -> np.ndarray:
        return self.indices[np.arange(len(self.indices)), self.values.argmax(1)]

    def probability(self, labels: np.ndarray) -> np.ndarray:
        """``Q(i)[labels[i]]`` for each row (0 where the label is not among the kept entries)."""
        return (self.values * (self.indices == labels[:, None])).sum(1)


@dataclass
class PicoResult:
    """What cleaning found. ``posterior`` is the last ``Q_t``; ``first_votes`` the dense votes of
    round 1 (plain out-of-fold probabilities: what confident learning reads, e.g. cleanlab)."""

    posterior: SparseRows
    first_votes: np.ndarray  # (n, classes)
    last_votes: np.ndarray  # (n, classes)
    times_checked: np.ndarray  # (n,) checkers that checked each example, over all rounds
    rounds: list[dict[str, Any]] = field(default_factory=list)
    # Q_t after each round (n x top_k each): how labels moved, for reports and benchmarks.
    history: list[SparseRows] = field(default_factory=list)


def fold_assignments(groups: np.ndarray, labels: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold per example: copies of one text (same ``group``) share a fold, so a checker never
    trains on the utterance it checks; each intent is dealt round the folds (stratified)."""
    first: dict[int, int] = {}
    for i, g in enumerate(groups.tolist()):
        first.setdefault(g, i)
    heads = np.array(sorted(first.values()))
    heads = heads[rng.permutation(len(heads))]
    heads = heads[np.argsort(labels[heads], kind="stable")]  # by label, shuffled within
    group_fold = {int(groups[h]): (j + int(rng.integers(folds))) % folds for j, h in enumerate(heads)}
    return np.array([group_fold[int(g)] for g in groups], dtype=np.int64)


_worker: tuple[LabelChecker, CheckerFeatures] | None = None

# One checker fit: (train rows, their targets, rows to check, seed).
CheckerTask = tuple[np.ndarray, np.ndarray, np.ndarray, int]


def _init_worker(checker: LabelChecker, features: CheckerFeatures) -> None:
    global _worker
    import torch

    torch.set_num_threads(1)  # one process per core; threads inside would only compete
    _worker = (checker, features)


def _run_task(task: CheckerTask) -> np.ndarray:
    assert _worker is not None, "worker not initialised"
    checker, features = _worker
    train, targets, check, seed = task
    return checker.fit_predict(features, train, targets, check, seed=seed)


def _run_ray_task(checker: LabelChecker, features: CheckerFeatures, task: CheckerTask) -> np.ndarray:
    train, targets, check, seed = task
    return checker.fit_predict(features, train, targets, check, seed=seed)


class CheckerRunner:
    """Runs checker fits: in this process (``workers=1``), in ``workers`` local processes, or as
    Ray tasks when ``ray_address`` is given. The checker and the features travel once per process
    (or once into Ray's object store), not once per task.

    ``ray_address``: ``"local"`` starts Ray on this machine; anything else (``"auto"``,
    ``"ray://head:10001"``) is passed to ``ray.init(address=...)``. A Ray that this process has
    already initialised is used as it is. Ray is imported only here, so malmoi does not need it.
    """

    def __init__(self, checker: LabelChecker, features: CheckerFeatures, *, workers: int = 1,
                 ray_address: str | None = None):
        self.checker, self.features = checker, features
        self._pool: ProcessPoolExecutor | None = None
        self._ray: Any = None
        self._started_ray = False
        self.where = ""  # "inline", "processes" or "ray": where the fits run
        if ray_address is not None:
            try:
                import ray
            except ImportError:
                raise ImportError("a Ray address was given but ray is not installed: "
                                  "pip install 'malmoi[ray]'") from None
            if not ray.is_initialized():
                ray.init(address=None if ray_address == "local" else ray_address, log_to_driver=False)
                self._started_ray = True
            self._ray = ray
            self._remote = ray.remote(num_cpus=1)(_run_ray_task)
            self._refs = (ray.put(checker), ray.put(features))
            self.where = "ray"
        elif workers > 1:
            import torch  # noqa: F401 - imported once here, not once per forked process

            self._pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(checker, features))
            self.where = "processes"
        else:
            _init_worker_inline(checker, features)
            self.where = "inline"

    def map(self, tasks: Sequence[CheckerTask], done: Callable[[], None] | None = None) -> list[np.ndarray]:
        """Each task's ``(len(check), classes)`` probabilities, in the tasks' order; ``done`` is
        called as each result arrives (in order), for a progress bar."""
        if self._ray is not None:
            checker_ref, features_ref = self._refs
            results = iter(self._ray.get([self._remote.remote(checker_ref, features_ref, t) for t in tasks]))
        elif self._pool is not None:
            results = self._pool.map(_run_task, tasks)
        else:
            _init_worker_inline(self.checker, self.features)
            results = (_run_task(t) for t in tasks)
        collected = []
        for result in results:
            collected.append(result)
            if done is not None:
                done()
        return collected

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> CheckerRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pico(
    checker: LabelChecker,
    features: CheckerFeatures,
    labels: np.ndarray,
    classes: int,
    *,
    groups: np.ndarray | None = None,
    rounds: int = 4,
    splits: int = 3,
    folds: int = 5,
    top_k: int = 5,
    tolerance: float = 0.002,
    workers: int = 1,
    ray_address: str | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    on_checker: Callable[[int, int], None] | None = None,
) -> PicoResult:
    """Run MultiSplit-Train-Check-Vote and iterative correction over ``labels`` (``(n,)`` class ids).

    ``groups``: an id per example; examples of one group (copies of one text) share a fold.
    ``workers`` > 1 runs checkers in that many processes; ``ray_address`` runs them as Ray tasks
    instead (:class:`CheckerRunner`). ``progress`` gets a line per round; ``on_checker(round,
    checkers)`` is called as a round starts and ``on_checker(round, 0)`` as each checker finishes,
    for a progress bar. Returns a :class:`PicoResult`.
    """
    n = len(labels)
    if n != len(features):
        raise ValueError(f"{n} labels for {len(features)} feature rows")
    if folds < 2:
        raise ValueError("folds must be at least 2: a checker needs examples it did not train on")
    groups = np.arange(n) if groups is None else groups
    rng = np.random.default_rng(seed)
    posterior = SparseRows.one_hot(labels, classes)
    times_checked = np.zeros(n, np.int64)
    first_votes: np.ndarray | None = None
    votes = np.zeros((n, classes), np.float32)
    history: list[dict[str, Any]] = []
    posteriors: list[SparseRows] = []
    runner = CheckerRunner(checker, features, workers=workers, ray_address=ray_address)
    try:
        for round_ in range(1, rounds + 1):
            started = time.perf_counter()
            targets = posterior.dense()
            tasks: list[CheckerTask] = []
            for _ in range(splits):
                fold_of = fold_assignments(groups, labels, folds, rng)
                for fold in range(folds):
                    check = np.flatnonzero(fold_of == fold)
                    train = np.flatnonzero(fold_of != fold)
                    if len(check) and len(train):
                        tasks.append((train, targets[train], check, int(rng.integers(2**31))))
            totals = np.zeros((n, classes), np.float32)
            counts = np.zeros(n, np.int64)
            if on_checker is not None:
                on_checker(round_, len(tasks))
            results = runner.map(tasks, None if on_checker is None else partial(on_checker, round_, 0))
            for (_, _, check, _), probabilities in zip(tasks, results):
                totals[check] += probabilities
                counts[check] += 1
            votes = (totals / np.maximum(counts, 1)[:, None]).astype(np.float32)
            times_checked += counts
            if first_votes is None:
                first_votes = votes.copy()
            previous = posterior
            posterior = _correct(previous, votes, top_k)
            posteriors.append(posterior)
            changed = float((posterior.argmax() != previous.argmax()).mean())
            record = {
                "round": round_,
                "checkers": len(tasks),
                "changed": changed,
                "suspects": int((posterior.argmax() != labels).sum()),
                "seconds": round(time.perf_counter() - started, 2),
            }
            history.append(record)
            logger.info("clean round %d: %s", round_, record)
            if progress is not None:
                progress(
                    f"round {round_}: {len(tasks)} checkers, {record['suspects']} labels in doubt, "
                    f"{changed:.2%} changed ({record['seconds']} s)"
                )
            if round_ > 1 and changed < tolerance:
                break
    finally:
        runner.close()
    assert first_votes is not None
    return PicoResult(posterior, first_votes, votes, times_checked, history, posteriors)


def _init_worker_inline(checker: LabelChecker, features: CheckerFeatures) -> None:
    global _worker
    _worker = (checker, features)


def transition_matrix(previous: SparseRows, votes: np.ndarray) -> np.ndarray:
    """``T[a, b] = p(C_t = b | C_{t-1} = a)``: the mean vote for ``b`` of examples labelled ``a``."""
    classes = previous.classes
    joint = np.zeros((classes, classes), np.float64)
    for j in range(previous.indices.shape[1]):
        # Σ_i Q(i)[a] V(i) for each kept entry a of each row, added to row a of the joint.
        np.add.at(joint, previous.indices[:, j], previous.values[:, j, None] * votes)
    totals = joint.sum(1, keepdims=True)
    uniform = np.full((1, classes), 1.0 / classes)
    return np.where(totals > 0, joint / np.maximum(totals, 1e-12), uniform)


def _correct(previous: SparseRows, votes: np.ndarray, top_k: int) -> SparseRows:
    """One step of the chain: prior = Q_{t-1} T, posterior ∝ prior * votes, top-k kept."""
    transition = transition_matrix(previous, votes)
    prior = np.zeros_like(votes, dtype=np.float64)
    for j in range(previous.indices.shape[1]):
        prior += previous.values[:, j, None] * transition[previous.indices[:, j]]
    posterior = prior * votes
    totals = posterior.sum(1, keepdims=True)
    # All-zero products (votes and prior disjoint) keep the votes: nothing better is known.
    posterior = np.where(totals > 0, posterior / np.maximum(totals, 1e-300), votes)
    return SparseRows.from_dense(posterior.astype(np.float32), top_k)
