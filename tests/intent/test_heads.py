"""The distance classifier against plain nearest-centre classification."""

import pytest
import torch
import torch.nn.functional as F

from malmoi.intent.heads import DistanceClassifier
from malmoi.intent.losses import LOSSES, build_loss


def _nearest_centre(loss, features):
    """The simpler reference: nearest centre by the loss's own metric, written out."""
    if loss.metric == "euclidean":
        return torch.cdist(features, loss.centres).argmin(1)
    if loss.metric == "cosine":
        return (F.normalize(features, dim=1) @ F.normalize(loss.centres, dim=1).T).argmax(1)
    return (features @ loss.linear.weight.T + loss.linear.bias).argmax(1)


@pytest.fixture
def features():
    return torch.randn(64, 16, generator=torch.Generator().manual_seed(1)) * 2


@pytest.mark.parametrize("name", LOSSES)
def test_without_threshold_the_answer_is_plain_nearest_centre_classification(name, features):
    torch.manual_seed(0)
    loss = build_loss(name, 16, 7).eval()
    with torch.no_grad():
        predicted, fallback = DistanceClassifier(loss, threshold=None).predict(features)
    assert torch.equal(predicted, _nearest_centre(loss, features))
    assert not fallback.any()


@pytest.mark.parametrize("name", LOSSES)
def test_threshold_only_decides_fallback_and_ranking_agrees_with_retrieval(name, features):
    torch.manual_seed(0)
    loss = build_loss(name, 16, 7).eval()
    with torch.no_grad():
        scores = DistanceClassifier(loss).scores(features)
        threshold = float(scores.in_domain.median())
        predicted, fallback = DistanceClassifier(loss, threshold=threshold).predict(features)
    assert torch.equal(predicted, _nearest_centre(loss, features))
    assert torch.equal(fallback, scores.in_domain < threshold)
    assert 0 < int(fallback.sum()) < len(features)
    assert torch.allclose(scores.probabilities.sum(1), torch.ones(len(features)))
    assert torch.equal(scores.probabilities.argmax(1), predicted)


def test_euclidean_score_is_minus_half_the_squared_distance_to_the_nearest_centre(features):
    loss = build_loss("center", 16, 7).eval()
    with torch.no_grad():
        scores = DistanceClassifier(loss).scores(features)
    expected = -0.5 * torch.cdist(features, loss.centres).min(1).values ** 2
    assert torch.allclose(scores.in_domain, expected, atol=1e-4)
