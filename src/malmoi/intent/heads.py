"""The distance classifier: an utterance's intent is its nearest class centre.

Retrieval compares a sentence vector with each class centre of the intent loss
(:mod:`malmoi.intent.losses`): Euclidean distance for the distance losses (CenterLoss, L-GM),
cosine for the angular ones (CosFace, COCO), the linear score for plain cross-entropy. It costs
O(classes) per query, independent of how many examples trained the model: Kochat replaced a
k-nearest-neighbour search over all training samples with exactly this and kept its accuracy.

How near the nearest centre is doubles as the in-domain score: below the fallback threshold
(:mod:`malmoi.intent.fallback`), the utterance is out of domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from malmoi.intent.losses import IntentLoss


@dataclass
class IntentScores:
    """Scores of a batch of sentence vectors against every intent."""

    probabilities: torch.Tensor  # (batch, classes) softmax of the loss's logits, for ranking
    predicted: torch.Tensor  # (batch,) index of the nearest centre
    in_domain: torch.Tensor  # (batch,) higher = more in domain; compared with the threshold


class DistanceClassifier:
    """Nearest-centre classification with an optional fallback threshold.

    Args:
        loss: the trained intent loss; its centres and metric define retrieval.
        threshold: in-domain scores below it fall back; ``None`` never falls back.

    The in-domain score is the similarity to the nearest centre (cosine, or minus half the
    squared Euclidean distance) for the retrieval losses, and the top softmax probability for
    plain cross-entropy, whose linear scores are not a closeness.

    >>> classifier = DistanceClassifier(loss, threshold=0.4)  # doctest: +SKIP
    >>> predicted, fallback = classifier.predict(features)  # doctest: +SKIP
    """

    def __init__(self, loss: IntentLoss, *, threshold: float | None = None):
        self.loss = loss
        self.threshold = threshold

    def scores(self, features: torch.Tensor) -> IntentScores:
        similarities = self.loss.similarities(features)  # (batch, classes)
        logits = self.loss.logits(features)  # same order per row: a positive scale at most
        probabilities = logits.softmax(-1)
        nearest = similarities.max(-1)
        if self.loss.metric == "linear":
            in_domain = probabilities.max(-1).values
        else:
            in_domain = nearest.values
        return IntentScores(probabilities=probabilities, predicted=nearest.indices, in_domain=in_domain)

    def predict(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Nearest-centre class indices (batch,) and fallback flags (batch,)."""
        scores = self.scores(features)
        if self.threshold is None:
            return scores.predicted, torch.zeros_like(scores.predicted, dtype=torch.bool)
        return scores.predicted, scores.in_domain < self.threshold
