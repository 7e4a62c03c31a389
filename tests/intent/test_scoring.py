"""The numpy intent scorer that parses, against the torch head that trains and a plain reference."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from malmoi.intent.head import IntentHead, collate_lexical
from malmoi.intent.scoring import IntentScorer
from malmoi.settings import IntentSettings

LOSSES = ["cross_entropy", "center", "cosface", "coco", "gaussian_mixture"]


def _nearest_centre(loss, features):
    """The simpler reference: nearest centre by the loss's own metric, written out."""
    if loss.metric == "euclidean":
        return torch.cdist(features, loss.centres).argmin(1)
    if loss.metric == "cosine":
        return (F.normalize(features, dim=1) @ F.normalize(loss.centres, dim=1).T).argmax(1)
    return (features @ loss.linear.weight.T + loss.linear.bias).argmax(1)


def _head(name: str, lexical_size: int = 0) -> IntentHead:
    torch.manual_seed(0)
    return IntentHead(8, 7, IntentSettings(loss=name), lexical_size=lexical_size).eval()


@pytest.mark.parametrize("name", LOSSES)
def test_numpy_scores_equal_the_torch_head_and_retrieve_the_nearest_centre(name):
    head = _head(name, lexical_size=20)
    generator = np.random.default_rng(1)
    tokens = [generator.normal(size=(n, 8)).astype(np.float32) for n in (1, 3, 6)]
    lexical = [(np.array([0, 5, 19]), np.array([0.5, 0.5, 0.7], np.float32)),
               (np.array([], np.int64), np.array([], np.float32)),
               (np.array([3]), np.array([1.0], np.float32))]
    scorer = IntentScorer(IntentSettings(), *head.export())
    assert scorer.lexical is not None
    with torch.no_grad():  # the scorer keeps the lexical rows as int8: compare computations, not rounding
        head.lexical.weight.copy_(torch.from_numpy(scorer.lexical.dense()))
    sentences = np.stack([scorer.sentence(t, lex) for t, lex in zip(tokens, lexical)])

    padded = torch.zeros(3, 6, 8)
    mask = torch.zeros(3, 6, dtype=torch.bool)
    for i, t in enumerate(tokens):
        padded[i, : len(t)], mask[i, : len(t)] = torch.from_numpy(t), True
    with torch.no_grad():
        expected = head.sentence(padded, mask, collate_lexical(lexical))
        similarities = head.loss.similarities(expected)
    assert np.allclose(sentences, expected.numpy(), atol=1e-5)
    scores = scorer.scores(sentences)
    assert np.allclose(scorer.similarities(sentences), similarities.numpy(), atol=1e-4)
    assert np.array_equal(scores.predicted, _nearest_centre(head.loss, expected).numpy())
    assert np.allclose(scores.probabilities.sum(1), 1.0)
    assert np.array_equal(scores.probabilities.argmax(1), scores.predicted)


def test_euclidean_score_is_minus_half_the_squared_distance_to_the_nearest_centre():
    head = _head("center")
    scorer = IntentScorer(IntentSettings(), *head.export())
    sentences = np.random.default_rng(2).normal(size=(5, 8)).astype(np.float32) * 2
    centres = head.loss.centres.detach().numpy()
    expected = -0.5 * ((sentences[:, None] - centres[None]) ** 2).sum(-1).min(1)
    assert np.allclose(scorer.scores(sentences).in_domain, expected, atol=1e-4)


def test_a_scorer_refuses_arrays_that_do_not_fit():
    state, arrays = _head("cosface").export()
    arrays["loss.centres"] = arrays["loss.centres"][:, :5]
    with pytest.raises(ValueError, match="do not fit"):
        IntentScorer(IntentSettings(), state, arrays)
    with pytest.raises(ValueError, match="unknown retrieval metric"):
        IntentScorer(IntentSettings(), {**state, "metric": "manhattan"}, _head("cosface").export()[1])
