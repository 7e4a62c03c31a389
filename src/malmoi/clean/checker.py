"""Label checkers: a fast classifier fitted many times on parts of a bot's data (PICO's "checker").

A checker is malmoi's intent head in a fast configuration. Its features are computed once for
every utterance (:meth:`LexicalHeadChecker.featurize`): malmoi's lexical TF-IDF n-grams
(:mod:`malmoi.featurize.lexical`). Each fit then trains only the head on a share of the rows:
an n-gram embedding bag (as the intent head's lexical branch) into a sentence vector, and an intent
loss from :data:`malmoi.registry.intent_losses` (CosFace by default) that owns the class centres.
Targets may be soft (a distribution over intents per utterance), as label correction needs.

A fit takes seconds where a full malmoi training takes minutes, so dozens of checkers per
cleaning run are affordable. Checkers are components: ``registry.checkers`` finds them by
versioned name (``lexical-head.v1``); a plug-in registers another the same way.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from malmoi.text.doc import Doc

__all__ = ["CheckerFeatures", "LabelChecker", "LexicalHeadChecker"]


@dataclass
class CheckerFeatures:
    """Sparse feature rows of every utterance, in CSR form: row ``i`` is
    ``columns[offsets[i]:offsets[i + 1]]`` with ``weights`` alike (L2-normalized TF-IDF)."""

    offsets: np.ndarray  # (n + 1,) int64
    columns: np.ndarray  # (nnz,) int64
    weights: np.ndarray  # (nnz,) float32
    size: int  # number of distinct columns

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def rows(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(columns, offsets, weights)`` of the rows ``index``, packed as an embedding bag reads them."""
        starts, ends = self.offsets[index], self.offsets[index + 1]
        lengths = ends - starts
        take = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if len(index) else np.zeros(0, int)
        bag_offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(index) else np.zeros(0, int)
        return self.columns[take], bag_offsets.astype(np.int64), self.weights[take]

    def subset(self, index: np.ndarray) -> CheckerFeatures:
        """The rows ``index`` alone, in that order (same columns)."""
        columns, offsets, weights = self.rows(index)
        return CheckerFeatures(np.append(offsets, len(columns)).astype(np.int64), columns, weights, self.size)

    def cosine_neighbours(self, queries: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, similarities)``, each ``(len(queries), count)``: the most similar other rows
        (cosine of the TF-IDF rows; -1 and 0 where there are fewer other rows)."""
        import torch

        n = len(self)
        everything = self.sparse(np.arange(n)).t().coalesce()  # (size, n)
        found_indices = np.full((len(queries), count), -1, dtype=np.int64)
        found_similarities = np.zeros((len(queries), count), dtype=np.float32)
        for start in range(0, len(queries), 256):
            chunk = queries[start : start + 256]
            with warnings.catch_warnings():  # "sparse CSR support is in beta": torch's own, internal
                warnings.filterwarnings("ignore", category=UserWarning)
                scores = torch.sparse.mm(self.sparse(chunk), everything).to_dense().numpy()  # (chunk, n)
            scores[np.arange(len(chunk)), chunk] = -np.inf  # not its own neighbour
            best = np.argsort(-scores, axis=1, kind="stable")[:, : min(count, n - 1)]
            found_indices[start : start + len(chunk), : best.shape[1]] = best
            found_similarities[start : start + len(chunk), : best.shape[1]] = np.take_along_axis(scores, best, 1)
        return found_indices, found_similarities

    def sparse(self, index: np.ndarray) -> Any:
        """The rows ``index`` as a ``(len(index), size)`` sparse torch tensor."""
        import torch

        columns, offsets, weights = self.rows(index)
        lengths = np.diff(np.append(offsets, len(columns)))
        coordinates = np.stack([np.repeat(np.arange(len(index)), lengths), columns])
        return torch.sparse_coo_tensor(
            torch.from_numpy(coordinates),
            torch.from_numpy(weights),
            (len(index), max(self.size, 1)),
            check_invariants=False,  # built sorted and distinct above
            is_coalesced=True,
        )


class LabelChecker:
    """Interface of a checker: features once, then many fits on rows with (soft) targets.

    ``fit_predict`` must be re-entrant and read no global random state: cleaning calls it in
    parallel processes with a seed per call.
    """

    def featurize(self, docs: Sequence[Doc]) -> CheckerFeatures:
        raise NotImplementedError

    def fit_predict(
        self,
        features: CheckerFeatures,
        train: np.ndarray,
        targets: np.ndarray,
        check: np.ndarray,
        *,
        seed: int,
    ) -> np.ndarray:
        """Fit on rows ``train`` with ``targets`` (``(len(train), classes)``, rows sum to 1), then
        return ``(len(check), classes)`` probabilities for rows ``check``."""
        raise NotImplementedError


class LexicalHeadChecker(LabelChecker):
    """``lexical-head.v1`` (settings: :class:`malmoi.components.LexicalHeadCheckerSettings`).

    Sentence vector = TF-IDF-weighted sum of n-gram embeddings ``(batch, dim)``; the intent loss
    compares it with its class centres. With soft targets ``q`` the CosFace margin is spread as
    ``q`` is: ``logits = scale * (cos - margin * q)``, exactly CosFace for a one-hot ``q``.
    """

    def __init__(self, settings: Any):
        self.settings = settings

    def featurize(self, docs: Sequence[Doc]) -> CheckerFeatures:
        from malmoi.components import NgramSettings
        from malmoi.featurize.lexical import NgramFeaturizer

        featurizer = NgramFeaturizer(NgramSettings(word_ngrams=self.settings.word_ngrams))
        rows = featurizer.fit_transform(docs)
        lengths = np.array([len(r) for r, _ in rows], dtype=np.int64)
        columns = np.concatenate([r for r, _ in rows]) if rows else np.zeros(0, np.int64)
        weights = np.concatenate([w for _, w in rows]) if rows else np.zeros(0, np.float32)
        # An n-gram of one utterance only never helps a checker that has not seen that utterance
        # (and is never shared with a neighbour): dropping those halves the table every fit trains.
        frequency = np.bincount(columns, minlength=featurizer.size)
        keep = frequency[columns] >= self.settings.min_count
        renumber = np.cumsum(frequency >= self.settings.min_count) - 1
        row_of = np.repeat(np.arange(len(rows)), lengths)
        lengths = np.bincount(row_of[keep], minlength=len(rows))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return CheckerFeatures(
            offsets,
            renumber[columns[keep]].astype(np.int64),
            weights[keep].astype(np.float32),
            int((frequency >= self.settings.min_count).sum()),
        )

    def fit_predict(
        self,
        features: CheckerFeatures,
        train: np.ndarray,
        targets: np.ndarray,
        check: np.ndarray,
        *,
        seed: int,
    ) -> np.ndarray:
        with _one_thread():
            return self._fit_predict(features, train, targets, check, seed=seed)

    def _fit_predict(
        self,
        features: CheckerFeatures,
        train: np.ndarray,
        targets: np.ndarray,
        check: np.ndarray,
        *,
        seed: int,
    ) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        from malmoi.intent.losses import build_loss

        s = self.settings
        classes = targets.shape[1]
        rng = np.random.default_rng(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            # (features, dim): the n-gram embedding table, as the intent head's lexical branch.
            table = torch.nn.Parameter(torch.randn(max(features.size, 1), s.dim) * s.init_std)
            loss = build_loss(s.loss, s.dim, classes, s)
        margin = s.margin if loss.metric == "cosine" else 0.0
        # Dense Adam over the table: with large batches a few dozen steps suffice, and a dense
        # step costs less than coalescing a sparse gradient of that many rows.
        optimizer = torch.optim.Adam([table, *loss.parameters()], lr=s.learning_rate, fused=True)
        target_tensor = torch.from_numpy(targets.astype(np.float32))

        def sentences(index: np.ndarray) -> torch.Tensor:
            return torch.sparse.mm(features.sparse(index), table)  # (batch, dim)

        for _ in range(s.epochs):
            order = rng.permutation(len(train))
            for start in range(0, len(order), s.batch_size):
                batch = order[start : start + s.batch_size]
                q = target_tensor[batch]  # (batch, classes)
                logits = loss.logits(sentences(train[batch])) - loss.logit_scale * margin * q
                value = -(q * F.log_softmax(logits, -1)).sum(-1).mean()
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
        with torch.inference_mode():
            parts = [
                F.softmax(loss.logits(sentences(check[i : i + 4096])), -1).numpy()
                for i in range(0, len(check), 4096)
            ]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, classes), np.float32)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread while a checker fits: its operations are small, so a thread pool only
    adds waiting (measured 13x slower on a busy 2-core machine); cleaning runs checkers side by
    side in processes instead."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
