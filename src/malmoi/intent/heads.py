"""Intent heads: a softmax classifier and a CosFace large-margin cosine classifier.

CosFace (Wang et al. 2018, "CosFace: Large Margin Cosine Loss for Deep Face Recognition")
normalizes features and class weights, so each weight row is a class centre on the unit
sphere, and subtracts a margin from the true class's cosine during training. In-domain
utterances end up tightly clustered around their centre, which is what lets the cosine to
the nearest centre double as an out-of-domain score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SoftmaxHead(nn.Module):
    """Linear layer + cross-entropy; the fallback score is the top softmax probability."""

    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.linear = nn.Linear(dim, num_classes)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)  # (batch, classes)

    def training_logits(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.logits(features)

    def confidences(self, features: torch.Tensor) -> torch.Tensor:
        return self.logits(features).softmax(-1)


class CosFaceHead(nn.Module):
    """Cosine similarity to learned class centres, with an additive margin while training."""

    def __init__(self, dim: int, num_classes: int, *, scale: float, margin: float):
        super().__init__()
        self.centres = nn.Parameter(torch.randn(num_classes, dim) * dim**-0.5)
        self.scale = scale
        self.margin = margin

    def cosines(self, features: torch.Tensor) -> torch.Tensor:
        # (batch, dim) x (classes, dim) -> (batch, classes), each in [-1, 1]
        return F.normalize(features, dim=-1) @ F.normalize(self.centres, dim=-1).T

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.scale * self.cosines(features)

    def training_logits(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.cosines(features)
        margin = self.margin * F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return self.scale * (cos - margin)

    def confidences(self, features: torch.Tensor) -> torch.Tensor:
        # The cosine itself, not a softmax: it measures closeness to a class centre, so it
        # stays low for an utterance that is far from every class.
        return self.cosines(features)
