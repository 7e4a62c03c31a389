"""The linear floor on lexical n-grams and its stacked blend with the neural head (prototypes)."""

from __future__ import annotations

import numpy as np
import pytest

from malmoi.components import NgramSettings
from malmoi.featurize.lexical import NgramFeaturizer
from malmoi.intent.blend import Blend, fit_blend, in_domain_scores
from malmoi.intent.linear import LinearIntents, design_matrix
from malmoi.text import Analyzer

pytest.importorskip("sklearn")

TEXTS = {
    0: ["book a flight to paris", "i need a flight to rome", "flight tickets to berlin please", "fly me to oslo"],
    1: ["what is the weather today", "will it rain tomorrow", "weather in paris", "is it sunny in rome"],
    2: ["play some jazz", "play a song by queen", "put on some music", "play the radio"],
}


def _fitted() -> tuple[NgramFeaturizer, LinearIntents]:
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [k for k, ts in TEXTS.items() for _ in ts]
    featurizer = NgramFeaturizer(NgramSettings())
    features = featurizer.fit_transform(Analyzer("en").many(texts))
    return featurizer, LinearIntents().fit(features, featurizer.size, labels, len(TEXTS))


def test_design_matrix_holds_the_featurizer_weights() -> None:
    featurizer, _ = _fitted()
    features = [featurizer.transform(d) for d in Analyzer("en").many(["play jazz", "weather"])]
    x = design_matrix(features, featurizer.size).toarray()
    rows, weights = features[0]
    assert x.shape == (2, featurizer.size)
    assert np.allclose(x[0, rows], weights)
    assert np.isclose((x[0] ** 2).sum(), 1.0, atol=1e-5)  # TF-IDF rows have unit norm


def test_floor_ranks_unseen_paraphrases_and_scores_with_numpy_as_sklearn_does() -> None:
    featurizer, floor = _fitted()
    docs = Analyzer("en").many(["a flight to madrid", "is it raining in oslo", "play music by abba"])
    features = [featurizer.transform(d) for d in docs]
    assert floor.scores(features).argmax(1).tolist() == [0, 1, 2]
    p = floor.probabilities(features)
    assert np.allclose(p.sum(1), 1.0)


def test_two_intents_score_as_opposite_decision_values() -> None:
    texts = TEXTS[0] + TEXTS[2]
    featurizer = NgramFeaturizer(NgramSettings())
    features = featurizer.fit_transform(Analyzer("en").many(texts))
    floor = LinearIntents().fit(features, featurizer.size, [0] * 4 + [1] * 4, 2)
    scores = floor.scores([featurizer.transform(Analyzer("en")("play jazz"))])
    assert scores[0, 1] > 0 > scores[0, 0] and np.isclose(scores[0, 0], -scores[0, 1])


def test_floor_refuses_an_intent_without_utterances() -> None:
    featurizer = NgramFeaturizer(NgramSettings())
    features = featurizer.fit_transform(Analyzer("en").many(TEXTS[0]))
    with pytest.raises(ValueError, match="no training utterance"):
        LinearIntents().fit(features, featurizer.size, [0] * 4, 2)


def test_blend_weights_follow_the_informative_member() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 400)
    informative = rng.normal(0, 1, (400, 5))
    informative[np.arange(400), labels] += 3.0
    noise = rng.normal(0, 1, (400, 5))
    linear_wins = fit_blend(noise, informative, labels)
    assert linear_wins.linear_weight > 0.5 and linear_wins.neural_weight < 0.1
    neural_wins = fit_blend(informative, noise, labels)
    assert neural_wins.neural_weight > 0.5 and neural_wins.linear_weight < 0.1


def test_blend_of_two_complementary_members_beats_each() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 2000)
    a, b = rng.normal(0, 1, (2000, 4)), rng.normal(0, 1, (2000, 4))
    a[np.arange(2000), labels] += 1.0
    b[np.arange(2000), labels] += 1.0
    blend = fit_blend(a[:1000], b[:1000], labels[:1000])
    held = slice(1000, None)
    accuracy = {
        "a": (a[held].argmax(1) == labels[held]).mean(),
        "b": (b[held].argmax(1) == labels[held]).mean(),
        "blend": (blend.logits(a[held], b[held]).argmax(1) == labels[held]).mean(),
    }
    assert accuracy["blend"] > max(accuracy["a"], accuracy["b"])


def test_in_domain_logit_keeps_absolute_nearness_that_probability_forgets() -> None:
    blend = Blend(1.0, 0.0)
    near, far = np.array([[10.0, 0.0]]), np.array([[2.0, -8.0]])  # same gap, far lower nearness
    zeros = np.zeros((1, 2))
    assert np.isclose(in_domain_scores(blend, near, zeros, "blend_probability"),
                      in_domain_scores(blend, far, zeros, "blend_probability"))
    assert in_domain_scores(blend, near, zeros, "blend_logit") > in_domain_scores(blend, far, zeros, "blend_logit")


def test_a_pruned_floor_keeps_its_largest_weights_and_still_ranks() -> None:
    featurizer, floor = _fitted()
    small = floor.pruned(40)
    assert np.count_nonzero(small.weights) == 40
    kept = np.abs(floor.weights)[small.weights != 0]
    assert kept.min() >= np.abs(floor.weights)[small.weights == 0].max()
    docs = Analyzer("en").many(["a flight to madrid", "is it raining in oslo", "play music by abba"])
    assert small.scores([featurizer.transform(d) for d in docs]).argmax(1).tolist() == [0, 1, 2]
