"""Intent scores without torch: the numpy twin of :class:`malmoi.intent.head.IntentHead`.

Retrieval compares a sentence vector with each class centre of the intent loss
(:mod:`malmoi.intent.losses`): cosine for the angular losses (CosFace, COCO), Euclidean distance
for the distance losses (CenterLoss, L-GM), the linear score for plain cross-entropy. It costs
O(classes) per query, independent of how many examples trained the model: Kochat replaced a
k-nearest-neighbour search over all training samples with exactly this and kept its accuracy.

How near the nearest centre is doubles as the in-domain score: below the fallback threshold
(:mod:`malmoi.intent.fallback`), the utterance is out of domain. For plain cross-entropy, whose
linear scores are not a closeness, the in-domain score is the top softmax probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from malmoi.featurize.quantize import read_rows
from malmoi.parts import LoadContext, Part

if TYPE_CHECKING:
    from malmoi.text.doc import Doc

__all__ = ["METRICS", "IntentScorer", "IntentScores", "sentence_vectors"]

METRICS = ("cosine", "euclidean", "linear")


@dataclass
class IntentScores:
    """Scores of a batch of sentence vectors against every intent."""

    probabilities: np.ndarray  # (batch, classes) softmax of the loss's logits, for ranking
    predicted: np.ndarray  # (batch,) index of the nearest centre
    in_domain: np.ndarray  # (batch,) higher = more in domain; compared with the threshold
    logits: np.ndarray  # (batch, classes) scale × similarity, what a blend with the linear floor reads


class IntentScorer(Part):
    """``intent-head.v1``: sentence vectors and their intent scores from an exported intent head.

    ``settings``: the bot's :class:`~malmoi.settings.IntentSettings` (the loss it trained with).
    ``state``: ``metric`` (one of :data:`METRICS`) and ``scale`` (logits = scale × similarity).
    ``arrays``: ``project.weight``/``project.bias``, ``loss.centres`` (+ ``loss.bias`` for
    ``linear``), and ``lexical`` when the head reads n-grams.
    """

    def __init__(self, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray]):
        self.settings = settings
        self._state, self._arrays = dict(state), dict(arrays)
        self.metric = state["metric"]
        if self.metric not in METRICS:
            raise ValueError(f"unknown retrieval metric {self.metric!r}; expected one of {METRICS}")
        self.scale = float(state.get("scale", 1.0))
        self.project_weight = np.asarray(arrays["project.weight"], np.float32)  # (dim, 2 * input)
        self.project_bias = np.asarray(arrays["project.bias"], np.float32)
        self.centres = np.asarray(arrays["loss.centres"], np.float32)  # (classes, dim)
        self.bias = np.asarray(arrays["loss.bias"], np.float32) if self.metric == "linear" else None
        self.lexical = read_rows(arrays, "lexical")  # int8: a parse reads a few dozen of its rows
        dim = self.project_weight.shape[0]
        if self.centres.ndim != 2 or self.centres.shape[1] != dim or self.project_bias.shape != (dim,):
            raise ValueError(
                f"intent head shapes do not fit: centres {self.centres.shape}, projection {self.project_weight.shape}"
            )
        if self.lexical is not None and self.lexical.shape[1] != dim:
            raise ValueError(f"lexical table {self.lexical.shape} does not fit sentence vectors of {dim}")
        self._unit_centres = self.centres / np.maximum(np.linalg.norm(self.centres, axis=1, keepdims=True), 1e-12)

    def state(self) -> dict[str, Any]:
        return self._state

    def arrays(self) -> dict[str, np.ndarray]:
        return self._arrays

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> IntentScorer:
        return cls(settings, state, arrays)

    @property
    def num_intents(self) -> int:
        return int(self.centres.shape[0])

    def sentence(self, tokens: np.ndarray, lexical: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """One utterance's sentence vector from its token vectors ``(tokens, input)`` and n-grams."""
        pooled = np.concatenate([tokens.max(0), tokens.mean(0)])
        vector = self.project_weight @ pooled + self.project_bias
        if self.lexical is not None and lexical is not None and len(lexical[0]):
            rows, weights = lexical
            vector = vector + weights @ self.lexical.take(rows)
        return vector

    def similarities(self, sentences: np.ndarray) -> np.ndarray:
        """(batch, classes): higher = nearer."""
        if self.metric == "cosine":
            unit = sentences / np.maximum(np.linalg.norm(sentences, axis=1, keepdims=True), 1e-12)
            return unit @ self._unit_centres.T
        if self.metric == "euclidean":
            squared = (sentences**2).sum(1, keepdims=True) - 2 * sentences @ self.centres.T + (self.centres**2).sum(1)
            return -0.5 * np.maximum(squared, 0.0)
        assert self.bias is not None
        return sentences @ self.centres.T + self.bias

    def scores(self, sentences: np.ndarray) -> IntentScores:
        similarities = self.similarities(sentences)
        logits = self.scale * similarities
        probabilities = np.exp(logits - logits.max(1, keepdims=True))
        probabilities /= probabilities.sum(1, keepdims=True)
        predicted = similarities.argmax(1)
        if self.metric == "linear" and self.num_intents == 1:
            in_domain = 1.0 / (1.0 + np.exp(-self.scale * similarities[:, 0]))  # against the zero background logit
        elif self.metric == "linear":
            in_domain = probabilities.max(1)
        else:
            in_domain = similarities[np.arange(len(similarities)), predicted]
        return IntentScores(probabilities, predicted, in_domain, logits)


def sentence_vectors(encoder: Any, lexical: Any, scorer: IntentScorer, docs: Sequence[Doc],
                     features: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
                     ) -> tuple[list[np.ndarray], np.ndarray]:
    """Each utterance's token vectors (``encoder.vectors``) and the ``(len(docs), dim)`` sentence
    vectors of the intent head, with the lexical part's n-grams (None: without them; ``features``:
    the n-grams already computed, one per doc).

    The one computation behind parsing, calibration at the end of training and ``Model.calibrate``.
    """
    vectors = encoder.vectors(docs)
    if features is None and lexical is not None:
        features = [lexical.transform(d) for d in docs]
    sentences = [
        scorer.sentence(v, features[i] if features is not None else None) for i, v in enumerate(vectors)
    ]
    return vectors, np.stack(sentences) if sentences else np.zeros((0, 1), np.float32)
