"""Each intent loss against its defining property, and all of them on a toy problem."""

import pytest
import torch
import torch.nn.functional as F

from malmoi import registry
from malmoi.intent.losses import (
    CenterLoss,
    COCOLoss,
    CosFaceLoss,
    CrossEntropyLoss,
    GaussianMixtureLoss,
    build_loss,
    classification_loss,
)
from malmoi.settings import IntentSettings

LOSSES = ["cross_entropy", "center", "cosface", "coco", "gaussian_mixture"]


def build(name, dim, classes, **options):
    return build_loss(name, dim, classes, IntentSettings(loss=name, **options))


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(12, 8, generator=generator)
    labels = torch.tensor([0, 1, 2, 3] * 3)
    return features, labels


# -- focal loss and label smoothing ---------------------------------------------------------


def test_classification_loss_without_options_is_cross_entropy(batch):
    logits, labels = batch[0][:, :4] * 3, batch[1]
    assert torch.allclose(classification_loss(logits, labels), F.cross_entropy(logits, labels))


@pytest.mark.parametrize("smoothing", [0.05, 0.1, 0.3])
def test_label_smoothing_matches_torch(batch, smoothing):
    logits, labels = batch[0][:, :4] * 3, batch[1]
    expected = F.cross_entropy(logits, labels, label_smoothing=smoothing)
    assert torch.allclose(classification_loss(logits, labels, label_smoothing=smoothing), expected)


def test_focal_loss_with_gamma_zero_is_cross_entropy(batch):
    logits, labels = batch[0][:, :4] * 3, batch[1]
    assert torch.allclose(classification_loss(logits, labels, focal_gamma=0.0), F.cross_entropy(logits, labels))


def test_focal_loss_is_the_papers_formula(batch):
    logits, labels = batch[0][:, :4] * 3, batch[1]
    p_true = logits.softmax(-1).gather(1, labels[:, None]).squeeze(1)
    expected = (-(1 - p_true) ** 2 * p_true.log()).mean()
    assert torch.allclose(classification_loss(logits, labels, focal_gamma=2.0), expected)


def test_focal_loss_down_weights_easy_examples_more_than_hard_ones():
    labels = torch.tensor([0])
    easy, hard = torch.tensor([[4.0, 0.0]]), torch.tensor([[0.5, 0.0]])
    ratio = lambda logits: classification_loss(logits, labels, focal_gamma=2.0) / F.cross_entropy(logits, labels)  # noqa: E731
    assert ratio(easy) < ratio(hard) < 1


# -- the losses -------------------------------------------------------------------------------


def test_cross_entropy_loss_is_softmax_cross_entropy_over_the_linear_layer(batch):
    features, labels = batch
    loss = CrossEntropyLoss(8, 4)
    assert torch.allclose(loss(features, labels), F.cross_entropy(loss.linear(features), labels))


def test_center_loss_centre_term_is_zero_when_features_sit_on_their_centres(batch):
    _, labels = batch
    loss = CenterLoss(8, 4, weight=1.0)
    on_centres = loss.centres.detach()[labels]
    assert loss.centre_term(on_centres, labels).item() == 0.0
    # ... and the total is then exactly the softmax cross-entropy.
    assert torch.allclose(loss(on_centres, labels), F.cross_entropy(loss.linear(on_centres), labels))


def test_center_loss_centre_term_is_half_the_mean_squared_distance(batch):
    features, labels = batch
    loss = CenterLoss(8, 4, weight=0.5)
    expected = 0.5 * ((features - loss.centres[labels]) ** 2).sum(1).mean()
    assert torch.allclose(loss.centre_term(features, labels), expected)
    assert torch.allclose(loss(features, labels), F.cross_entropy(loss.linear(features), labels) + 0.5 * expected)


def test_cosface_with_margin_zero_is_scaled_cosine_softmax(batch):
    features, labels = batch
    loss = CosFaceLoss(8, 4, scale=10.0, margin=0.0)
    cosines = F.normalize(features, dim=1) @ F.normalize(loss.centres, dim=1).T
    assert torch.allclose(loss(features, labels), F.cross_entropy(10.0 * cosines, labels))


def test_cosface_margin_raises_the_loss_and_ignores_feature_length(batch):
    features, labels = batch
    torch.manual_seed(0)
    loss = CosFaceLoss(8, 4, scale=10.0, margin=0.0)
    without = loss(features, labels)
    loss.margin = 0.3
    assert loss(features, labels) > without
    assert torch.allclose(loss(features * 7.0, labels), loss(features, labels))


def test_coco_loss_is_scaled_cosine_softmax_to_its_centroids(batch):
    features, labels = batch
    loss = COCOLoss(8, 4, scale=10.0)
    cosines = F.normalize(features, dim=1) @ F.normalize(loss.centres, dim=1).T
    assert torch.allclose(loss(features, labels), F.cross_entropy(10.0 * cosines, labels))
    # Only directions count: neither the features' length nor the centroids' changes the loss.
    assert torch.allclose(loss(3.0 * features, labels), loss(features, labels))
    with torch.no_grad():
        loss.class_centres.mul_(5.0)
    assert torch.allclose(loss(features, labels), F.cross_entropy(10.0 * cosines, labels), atol=1e-5)


def test_coco_has_no_margin_so_cosface_without_one_is_the_same_loss(batch):
    features, labels = batch
    coco = COCOLoss(8, 4, scale=10.0)
    cosface = CosFaceLoss(8, 4, scale=10.0, margin=0.0)
    with torch.no_grad():
        cosface.class_centres.copy_(coco.class_centres)
    assert torch.allclose(coco(features, labels), cosface(features, labels))
    cosface.margin = 0.2
    assert cosface(features, labels) > coco(features, labels)


def test_gaussian_mixture_without_margin_or_likelihood_is_softmax_over_minus_distances(batch):
    features, labels = batch
    loss = GaussianMixtureLoss(8, 4, margin=0.0, weight=0.0)
    distances = 0.5 * torch.cdist(features, loss.centres) ** 2
    assert torch.allclose(loss(features, labels), F.cross_entropy(-distances, labels), atol=1e-5)


def test_gaussian_mixture_margin_raises_the_loss_and_likelihood_is_zero_on_the_means(batch):
    features, labels = batch
    loss = GaussianMixtureLoss(8, 4, margin=0.0, weight=0.0)
    without = loss(features, labels)
    loss.margin = 0.5
    assert loss(features, labels) > without
    on_means = loss.centres.detach()[labels]
    assert loss.likelihood_term(on_means, labels).item() == 0.0


@pytest.mark.parametrize("name", LOSSES)
def test_outlier_loss_is_smallest_for_a_feature_equally_near_every_class(name):
    loss = build(name, 8, 4)
    with torch.no_grad():
        loss.centres.copy_(torch.eye(4, 8))
        if name in ("cross_entropy", "center"):
            loss.linear.weight.copy_(torch.eye(4, 8))
            loss.linear.bias.zero_()
    equidistant = torch.tensor([[0.0, 0, 0, 0, 1, 0, 0, 0]])
    near_one = torch.tensor([[1.0, 0, 0, 0, 0, 0, 0, 0]])
    assert torch.allclose(loss.outlier_loss(equidistant), torch.log(torch.tensor(4.0)))
    assert loss.outlier_loss(near_one) > loss.outlier_loss(equidistant)


def test_every_registered_loss_can_be_built_by_name_or_version():
    assert registry.intent_losses.names() == sorted(LOSSES)
    for name in LOSSES:
        assert build(name, 8, 3).metric in ("linear", "euclidean", "cosine")
        assert IntentSettings(loss=name).loss == f"{name}.v1"
    with pytest.raises(ValueError, match="no intent loss named 'arcface'"):
        IntentSettings(loss="arcface")


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("options", [{}, {"focal_gamma": 2.0, "label_smoothing": 0.1}])
def test_every_loss_learns_a_toy_problem_that_nearest_centre_retrieval_then_solves(name, options):
    torch.manual_seed(0)
    means = torch.randn(4, 6) * 3
    labels = torch.arange(4).repeat(50)
    inputs = means[labels] + torch.randn(200, 6)
    encoder = torch.nn.Linear(6, 8)
    loss = build(name, 8, 4, **options)
    optimizer = torch.optim.Adam([*encoder.parameters(), *loss.parameters()], lr=0.05)
    loss.train()
    for _ in range(60):
        optimizer.zero_grad()
        loss(encoder(inputs), labels).backward()
        optimizer.step()
    loss.eval()
    with torch.no_grad():
        predicted = loss.similarities(encoder(inputs)).argmax(1)
    assert (predicted == labels).float().mean() > 0.95


@pytest.mark.parametrize("name", LOSSES)
def test_with_one_intent_every_loss_still_separates_its_intent_from_outliers(name):
    # A softmax over one class is always certain; the loss must still teach "in" against "out".
    torch.manual_seed(0)
    inside = torch.randn(100, 6) + torch.tensor([3.0, 0, 0, 0, 0, 0])
    outside = torch.randn(100, 6) - torch.tensor([3.0, 0, 0, 0, 0, 0])
    encoder = torch.nn.Linear(6, 8)
    loss = build(name, 8, 1)
    optimizer = torch.optim.Adam([*encoder.parameters(), *loss.parameters()], lr=0.05)
    loss.train()
    for _ in range(60):
        optimizer.zero_grad()
        (loss(encoder(inside), torch.zeros(100, dtype=torch.long)) + loss.outlier_loss(encoder(outside))).backward()
        optimizer.step()
    loss.eval()
    with torch.no_grad():
        near_in, near_out = loss.similarities(encoder(inside))[:, 0], loss.similarities(encoder(outside))[:, 0]
    assert near_in.min() > near_out.max()
