"""The linear floor on lexical n-grams (linear-floor.v1) and its stacked blend with the neural head."""

from __future__ import annotations

import numpy as np
import pytest

from malmoi.components import NgramSettings
from malmoi.featurize.lexical import NgramFeaturizer
from malmoi.intent.blend import Blend, choose_in_domain, fit_blend, in_domain_scores
from malmoi.intent.linear import LinearFloor, _sparse, design_matrix, fit_linear
from malmoi.intent.scoring import IntentScores
from malmoi.settings import IntentSettings
from malmoi.text import Analyzer

pytest.importorskip("sklearn")

TEXTS = {
    0: ["book a flight to paris", "i need a flight to rome", "flight tickets to berlin please", "fly me to oslo"],
    1: ["what is the weather today", "will it rain tomorrow", "weather in paris", "is it sunny in rome"],
    2: ["play some jazz", "play a song by queen", "put on some music", "play the radio"],
}


def _fitted() -> tuple[NgramFeaturizer, LinearFloor]:
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [k for k, ts in TEXTS.items() for _ in ts]
    featurizer = NgramFeaturizer(NgramSettings())
    features = featurizer.fit_transform(Analyzer("en").many(texts))
    return featurizer, LinearFloor.fit(IntentSettings(), features, featurizer.size, labels, len(TEXTS))


def test_design_matrix_holds_the_featurizer_weights() -> None:
    featurizer, _ = _fitted()
    features = [featurizer.transform(d) for d in Analyzer("en").many(["play jazz", "weather"])]
    x = design_matrix(features, featurizer.size).toarray()
    rows, weights = features[0]
    assert x.shape == (2, featurizer.size)
    assert np.allclose(x[0, rows], weights)
    assert np.isclose((x[0] ** 2).sum(), 1.0, atol=1e-5)  # TF-IDF rows have unit norm


def test_floor_ranks_unseen_paraphrases() -> None:
    featurizer, floor = _fitted()
    docs = Analyzer("en").many(["a flight to madrid", "is it raining in oslo", "play music by abba"])
    assert floor.scores([featurizer.transform(d) for d in docs]).argmax(1).tolist() == [0, 1, 2]


def test_the_sparse_table_scores_as_the_dense_weights_do() -> None:
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [k for k, ts in TEXTS.items() for _ in ts]
    featurizer = NgramFeaturizer(NgramSettings())
    features = featurizer.fit_transform(Analyzer("en").many(texts))
    weights, bias = fit_linear(features, featurizer.size, labels, 3)
    floor = LinearFloor.fit(IntentSettings(), features, featurizer.size, labels, 3)  # 16 per row > 3 intents: all kept
    probe = [featurizer.transform(d) for d in Analyzer("en").many(["play jazz in paris", "weather", "zzz"])]
    dense = np.stack([bias + w @ weights[rows] if len(rows) else bias for rows, w in probe])
    assert np.allclose(floor.scores(probe), dense, atol=2e-3)  # the table is float16


def test_pruning_keeps_the_largest_weights() -> None:
    weights = np.array([[0.1, -5.0, 0.0], [2.0, 0.3, -0.2], [0.0, 0.0, 4.0]], np.float32)
    indptr, intents, values = _sparse(weights, 3)
    assert indptr.tolist() == [0, 1, 2, 3]  # one entry in each row
    assert intents.tolist() == [1, 0, 2] and values.tolist() == [-5.0, 2.0, 4.0]


def test_two_intents_score_as_opposite_decision_values() -> None:
    texts = TEXTS[0] + TEXTS[2]
    featurizer = NgramFeaturizer(NgramSettings())
    features = featurizer.fit_transform(Analyzer("en").many(texts))
    floor = LinearFloor.fit(IntentSettings(), features, featurizer.size, [0] * 4 + [1] * 4, 2)
    scores = floor.scores([featurizer.transform(Analyzer("en")("play jazz"))])
    assert scores[0, 1] > 0 > scores[0, 0] and np.isclose(scores[0, 0], -scores[0, 1])


def test_floor_refuses_an_intent_without_utterances() -> None:
    featurizer = NgramFeaturizer(NgramSettings())
    features = featurizer.fit_transform(Analyzer("en").many(TEXTS[0]))
    with pytest.raises(ValueError, match="no training utterance"):
        fit_linear(features, featurizer.size, [0] * 4, 2)


def test_a_blended_floor_ranks_by_the_blend_and_thresholds_the_chosen_score() -> None:
    featurizer, floor = _fitted()
    features = [featurizer.transform(Analyzer("en")("play some jazz"))]
    # A neural head that prefers flights a little: the floor's strong vote for music wins the blend.
    logits = np.array([[1.0, 0.0, 0.5]])
    neural = IntentScores(np.exp(logits) / np.exp(logits).sum(), logits.argmax(1), np.array([0.3]), logits)
    as_neural = floor.with_blend(Blend(1.0, 1.0), "neural", {}).blended(neural, features)
    assert as_neural.predicted.tolist() == [2] and as_neural.in_domain.tolist() == [0.3]
    assert np.isclose(as_neural.probabilities.sum(), 1.0)
    as_logit = floor.with_blend(Blend(1.0, 1.0), "blend_logit", {}).blended(neural, features)
    assert np.isclose(as_logit.in_domain[0], as_logit.logits.max())
    alone = floor.with_blend(Blend(1.0, 0.0), "neural", {}).blended(neural, features)
    assert alone.predicted.tolist() == [0]  # weight 0: the neural head alone


def test_the_in_domain_score_that_separates_held_out_data_better_is_chosen() -> None:
    in_domain, ood = np.array([0.9, 0.8, 0.7]), np.array([0.75, 0.1])
    better = (np.array([3.0, 2.5, 2.0]), np.array([1.0, 0.0]))
    choice, areas = choose_in_domain({"neural": (in_domain, ood), "blend_logit": better})
    assert choice == "blend_logit" and areas["blend_logit"] == 1.0 and areas["neural"] < 1.0
    assert choose_in_domain({"neural": better, "blend_logit": (in_domain, ood)})[0] == "neural"
    # Without out-of-domain data nothing tells them apart: the first (the neural head's own) stays.
    assert choose_in_domain({"neural": (in_domain, np.zeros(0)), "blend_logit": better})[0] == "neural"


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
