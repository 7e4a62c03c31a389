"""Intent losses: each owns its class centres and says how to retrieve against them.

A loss module here plays two parts. While training, ``forward(features, labels)`` returns the
loss. At inference, ``similarities(features)`` compares each sentence vector with every class
centre, so the class is the nearest centre and the fallback score is how near it is
(:mod:`malmoi.intent.scoring`): retrieval costs O(classes) per query, whatever the number of
training examples (Kochat's finding: keep the centres, not the samples).

=====================  ===========================================================  ==========
``bot.yaml`` name      idea                                                          retrieval
=====================  ===========================================================  ==========
``cross_entropy``      softmax over a linear layer                                   linear
``center``             softmax + pull features to their class centre                 Euclidean
                       (Wen et al. 2016, "A Discriminative Feature Learning
                       Approach for Deep Face Recognition")
``cosface``            softmax over scaled cosines with an additive margin on the    cosine
                       true class (Wang et al. 2018, "CosFace: Large Margin Cosine
                       Loss for Deep Face Recognition")
``coco``               softmax over scaled cosines to normalized class centroids,    cosine
                       no margin (Liu et al. 2017, "Learning Deep Features via
                       Congenerous Cosine Loss for Person Recognition")
``gaussian_mixture``   features as a mixture of Gaussians, one per class; margin on  Euclidean
                       the true class's distance plus a likelihood term (Wan et al.
                       2018, "Rethinking Feature Distribution for Loss Functions in
                       Image Classification", L-GM)
=====================  ===========================================================  ==========

Every classification term goes through :func:`classification_loss`, so focal loss (Lin et al.
2017, "Focal Loss for Dense Object Detection": down-weights examples already classified well,
for imbalanced intents) and label smoothing (Szegedy et al. 2016, "Rethinking the Inception
Architecture": a soft target, for noisy labels) combine with any of them.

Each is registered by name (:mod:`malmoi.components`), and ``bot.yaml`` picks one with
``intent: {loss: NAME}``. A new loss subclasses :class:`IntentLoss`, says how it retrieves
(``metric``: cosine, euclidean or linear, and ``centres``), builds itself in ``from_settings``
and registers with ``@malmoi.registry.intent_losses.register("my_loss.v1")``.

Out-of-domain examples train through ``outlier_loss``: their posterior over intents is pushed to
uniform (outlier exposure, Hendrycks et al. 2019, "Deep Anomaly Detection with Outlier
Exposure"), and, for the retrieval losses, their similarity to the nearest centre is pushed
below that of in-domain examples.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Metric = Literal["linear", "euclidean", "cosine"]


def classification_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    focal_gamma: float = 0.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy, optionally focal and/or label-smoothed, averaged over the batch.

    With target ``q = (1 - eps) * onehot + eps / classes`` and ``p = softmax(logits)``, the loss
    of one example is ``-sum_k q_k (1 - p_k)^gamma log p_k``: plain cross-entropy when
    ``gamma = eps = 0``, the focal loss of Lin et al. when ``eps = 0``.

    Args:
        logits: (batch, classes) unnormalized scores.
        labels: (batch,) class indices.
        focal_gamma: focusing parameter; 0 turns focal weighting off, 2 is the paper's choice.
        label_smoothing: share of the target spread uniformly over all classes.

    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]]); labels = torch.tensor([0, 1])
    >>> bool(torch.isclose(classification_loss(logits, labels), F.cross_entropy(logits, labels)))
    True
    """
    log_p = logits.log_softmax(-1)  # (batch, classes)
    classes = logits.shape[-1]
    target = F.one_hot(labels, classes).to(log_p.dtype)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    if focal_gamma:
        # (1 - p)^gamma is 0 for a perfectly classified example: it stops pulling on it.
        target = target * (1 - log_p.exp()).clamp(min=0).pow(focal_gamma)
    return -(target * log_p).sum(-1).mean()


class IntentLoss(nn.Module):
    """Common interface: a training loss that also defines retrieval against class centres.

    Subclasses set ``metric`` and implement ``similarities`` (higher = nearer; the argmax is the
    predicted class), ``logits`` (similarities on the scale the softmax was trained on) and
    ``forward``.
    """

    metric: ClassVar[Metric]

    def __init__(self, *, focal_gamma: float = 0.0, label_smoothing: float = 0.0):
        super().__init__()
        self.focal_gamma = focal_gamma
        self.label_smoothing = label_smoothing

    @classmethod
    def from_settings(cls, dim: int, num_classes: int, settings: Any) -> IntentLoss:
        """Build from the bot's :class:`malmoi.settings.IntentSettings`; subclasses take their options."""
        return cls(dim, num_classes, **_common(settings))  # type: ignore[call-arg]

    @property
    def logit_scale(self) -> float:
        """``logits = logit_scale * similarities``: what the numpy scorer multiplies by."""
        return 1.0

    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Retrieval as the numpy scorer does it (:class:`malmoi.intent.scoring.IntentScorer`)."""
        return {"metric": self.metric, "scale": self.logit_scale}, {"centres": self.centres.detach().numpy()}

    def classify(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return classification_loss(
            _with_background(logits), labels, focal_gamma=self.focal_gamma, label_smoothing=self.label_smoothing
        )

    @property
    def centres(self) -> torch.Tensor:
        """(classes, dim): what retrieval compares a sentence vector with."""
        raise NotImplementedError

    def similarities(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.similarities(features)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def outlier_loss(self, features: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of out-of-domain features to the uniform distribution over classes.

        With one intent, the uniform distribution is that intent: the features are taught to lose
        to the background logit instead (see :func:`_with_background`).
        """
        logits = self.logits(features)
        if logits.shape[1] == 1:
            background = torch.ones(len(logits), dtype=torch.long, device=logits.device)
            return classification_loss(_with_background(logits), background)
        return -logits.log_softmax(-1).mean()


class CrossEntropyLoss(IntentLoss):
    """A linear softmax classifier; its "centres" are the weight rows (a linear score)."""

    metric = "linear"

    def __init__(self, dim: int, num_classes: int, **options: float):
        super().__init__(**options)
        self.linear = nn.Linear(dim, num_classes)

    @property
    def centres(self) -> torch.Tensor:
        return self.linear.weight

    def similarities(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)  # (batch, classes)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.classify(self.linear(features), labels)

    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = super().export()
        arrays["bias"] = self.linear.bias.detach().numpy()
        return state, arrays


def _squared_distances(features: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, (batch, dim) x (classes, dim) -> (batch, classes)
    return (
        features.pow(2).sum(-1, keepdim=True) - 2 * features @ centres.T + centres.pow(2).sum(-1)
    ).clamp(min=0)


class CenterLoss(IntentLoss):
    """Softmax cross-entropy plus ``weight / 2 * ||x - c_y||^2`` (Wen et al. 2016).

    The softmax separates classes; the centre term pulls each feature onto its class centre,
    so a class becomes a tight ball and distance to the nearest centre measures belonging.
    Centres are learned by gradient descent with the rest of the network. The softmax layer only
    trains: retrieval, the ranking and outlier exposure all work on the distances.
    """

    metric = "euclidean"

    def __init__(self, dim: int, num_classes: int, *, weight: float = 0.1, **options: float):
        super().__init__(**options)
        self.linear = nn.Linear(dim, num_classes)
        self.class_centres = nn.Parameter(torch.randn(num_classes, dim) * dim**-0.5)
        self.weight = weight

    @classmethod
    def from_settings(cls, dim: int, num_classes: int, settings: Any) -> IntentLoss:
        return cls(dim, num_classes, weight=settings.centre_weight, **_common(settings))

    @property
    def centres(self) -> torch.Tensor:
        return self.class_centres

    def similarities(self, features: torch.Tensor) -> torch.Tensor:
        return -0.5 * _squared_distances(features, self.class_centres)  # (batch, classes)

    def centre_term(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean of ``||x - c_y||^2 / 2`` over the batch: zero when every feature sits on its centre."""
        return 0.5 * (features - self.class_centres[labels]).pow(2).sum(-1).mean()

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.classify(self.linear(features), labels) + self.weight * self.centre_term(features, labels)


class CosFaceLoss(IntentLoss):
    """Large-margin cosine loss: softmax over ``scale * (cos(x, c_k) - margin * [k = y])``.

    Features and centres are normalized, so each centre is a direction; the margin makes the
    true class win by at least ``margin`` in cosine, which packs a class into a narrow cone.
    """

    metric = "cosine"

    def __init__(self, dim: int, num_classes: int, *, scale: float = 16.0, margin: float = 0.2, **options: float):
        super().__init__(**options)
        self.class_centres = nn.Parameter(torch.randn(num_classes, dim) * dim**-0.5)
        self.scale = scale
        self.margin = margin

    @classmethod
    def from_settings(cls, dim: int, num_classes: int, settings: Any) -> IntentLoss:
        return cls(dim, num_classes, scale=settings.scale, margin=settings.margin, **_common(settings))

    @property
    def logit_scale(self) -> float:
        return self.scale

    @property
    def centres(self) -> torch.Tensor:
        return self.class_centres

    def similarities(self, features: torch.Tensor) -> torch.Tensor:
        # (batch, dim) x (classes, dim) -> (batch, classes), each in [-1, 1]
        return F.normalize(features, dim=-1) @ F.normalize(self.class_centres, dim=-1).T

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.scale * self.similarities(features)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.similarities(features)
        margin = self.margin * F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return self.classify(self.scale * (cos - margin), labels)


class COCOLoss(CosFaceLoss):
    """Congenerous cosine loss: softmax over ``scale * cos(x, c_k)`` (Liu et al. 2017).

    Features and class centroids are both normalized and compared by cosine alone, with no
    margin: the softmax pulls an utterance toward its congeners' centroid (polymerization) and
    away from the others (discrimination). That is CosFace with a margin of 0, so COCO shows what
    the margin adds. The paper defines a centroid as the mean of its class's normalized features
    in the mini-batch; here, as in Kochat, centroids are learned with the network. The batch-mean
    version (kept as a running mean) stalled at chance on CLINC150: malmoi's embeddings start at
    zero, so every utterance starts with nearly the same feature, every class mean is then that
    one direction, and the loss has nothing to separate.
    """

    def __init__(self, dim: int, num_classes: int, *, scale: float = 16.0, **options: float):
        super().__init__(dim, num_classes, scale=scale, margin=0.0, **options)

    @classmethod
    def from_settings(cls, dim: int, num_classes: int, settings: Any) -> IntentLoss:
        return cls(dim, num_classes, scale=settings.scale, **_common(settings))


class GaussianMixtureLoss(IntentLoss):
    """Large-margin Gaussian-mixture loss (L-GM, Wan et al. 2018).

    Features follow a mixture of Gaussians with means ``mu_k`` and identity covariance (the
    paper's simplest case; it keeps the distance a plain Euclidean one). The classification
    term is a softmax over ``-d_k`` with ``d_k = ||x - mu_k||^2 / 2``, the true class's distance
    enlarged by ``(1 + margin)``; the likelihood term ``weight * d_y`` pulls features onto their
    means, so the model is also a density and a far-from-every-mean utterance is improbable.
    """

    metric = "euclidean"

    def __init__(self, dim: int, num_classes: int, *, margin: float = 0.1, weight: float = 0.1, **options: float):
        super().__init__(**options)
        self.means = nn.Parameter(torch.randn(num_classes, dim) * dim**-0.5)
        self.margin = margin
        self.weight = weight

    @classmethod
    def from_settings(cls, dim: int, num_classes: int, settings: Any) -> IntentLoss:
        return cls(dim, num_classes, margin=settings.margin, weight=settings.centre_weight, **_common(settings))

    @property
    def centres(self) -> torch.Tensor:
        return self.means

    def similarities(self, features: torch.Tensor) -> torch.Tensor:
        return -0.5 * _squared_distances(features, self.means)  # (batch, classes) = -d_k

    def likelihood_term(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean ``d_y`` over the batch: the negative log-likelihood up to a constant."""
        return 0.5 * (features - self.means[labels]).pow(2).sum(-1).mean()

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        distances = -self.similarities(features)  # (batch, classes)
        enlarge = 1 + self.margin * F.one_hot(labels, distances.shape[1]).to(distances.dtype)
        return self.classify(-distances * enlarge, labels) + self.weight * self.likelihood_term(features, labels)


def _with_background(logits: torch.Tensor) -> torch.Tensor:
    """A bot of one intent: a softmax over one class is always certain and teaches nothing, so a
    fixed zero logit stands for "none of my intents" and the one class learns against it (a
    logistic loss). The similarity to the one centre then measures belonging, as with many."""
    if logits.shape[1] != 1:
        return logits
    return torch.cat([logits, logits.new_zeros(len(logits), 1)], dim=1)


def _common(settings: Any) -> dict[str, float]:
    return {"focal_gamma": settings.focal_gamma, "label_smoothing": settings.label_smoothing}


def build_loss(name: str, dim: int, num_classes: int, settings: Any) -> IntentLoss:
    """The loss registered as ``name`` (``settings.intent.loss``), built from the intent settings."""
    from malmoi import registry
    loss_class = registry.intent_losses.get(name).factory
    loss = loss_class.from_settings(dim, num_classes, settings)
    if not isinstance(loss, IntentLoss):
        raise TypeError(f"intent loss {name!r} built a {type(loss).__name__}, not an IntentLoss")
    if loss.metric not in ("cosine", "euclidean", "linear"):
        raise ValueError(f"intent loss {name!r} retrieves by {loss.metric!r}; expected cosine, euclidean or linear")
    return loss


__all__ = [
    "COCOLoss",
    "CenterLoss",
    "CosFaceLoss",
    "CrossEntropyLoss",
    "GaussianMixtureLoss",
    "IntentLoss",
    "build_loss",
    "classification_loss",
]
