"""PICO on synthetic data with known flipped labels: it finds them and suggests the true intent."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from noisy_data import as_examples, clean_rows, noisy_rows

from malmoi import registry
from malmoi.clean import CleanSettings, SparseRows, find_label_issues
from malmoi.clean.pico import _correct, fold_assignments, transition_matrix
from malmoi.data.schema import Example

FAST = {"rounds": 3, "splits": 2, "folds": 4, "workers": 1}


@pytest.fixture(scope="module")
def noisy_result():
    rows, flipped = noisy_rows()
    return find_label_issues(as_examples(rows), "en", CleanSettings(**FAST)), flipped


def test_flipped_labels_are_found_with_their_true_intent(noisy_result):
    result, flipped = noisy_result
    found = {s.text for s in result.suspects}
    true_positives = found & set(flipped)
    precision = len(true_positives) / max(len(found), 1)
    recall = len(true_positives) / len(flipped)
    assert precision >= 0.8 and recall >= 0.8, [(s.text, s.given, s.suggested, s.p_wrong) for s in result.suspects]
    for s in result.suspects:
        if s.text in flipped:
            assert s.suggested == flipped[s.text]
            assert s.times_checked >= FAST["splits"]  # once per split and round at least


def test_suspects_are_ranked_and_carry_neighbours(noisy_result):
    result, _ = noisy_result
    doubts = [s.p_wrong for s in result.suspects]
    assert doubts == sorted(doubts, reverse=True)
    assert [s.rank for s in result.suspects] == list(range(1, len(doubts) + 1))
    top = result.suspects[0]
    assert len(top.neighbours) == 3
    assert all(n.text != top.text for n in top.neighbours)
    # The nearest utterances share words with the suspect: the evidence a person reads.
    assert all(set(n.text.split()) & set(top.text.split()) for n in top.neighbours)


def test_clean_data_gives_no_suspects():
    result = find_label_issues(as_examples(clean_rows()), "en", CleanSettings(**FAST))
    assert result.suspects == []
    assert float(result.p_wrong.max()) < 0.5


def test_conflicting_copies_get_one_answer():
    rows = clean_rows()
    text = rows[0][0]  # an alarm utterance, also filed under music
    rows.append((text, "music"))
    result = find_label_issues(as_examples(rows), "en", CleanSettings(**FAST))
    copies = [s for s in result.suspects if s.text == text]
    assert len(copies) == 1
    assert (copies[0].given, copies[0].suggested, copies[0].conflict) == ("music", "alarm", True)


def test_one_intent_is_refused_with_a_reason():
    examples = [Example(f"play song {i}", "music") for i in range(10)]
    with pytest.raises(ValueError, match="2 or more"):
        find_label_issues(examples, "en", CleanSettings(**FAST))


def test_settings_name_a_registered_checker():
    assert registry.checkers.get("lexical-head").name == "lexical-head.v1"
    assert CleanSettings().checker.type == "lexical-head.v1"
    with pytest.raises(ValueError, match="lexical-head"):
        CleanSettings(checker={"type": "no-such-checker"})
    with pytest.raises(ValueError):
        CleanSettings(folds=1)


def test_votes_that_agree_with_every_label_change_nothing():
    labels = np.array([0, 0, 1, 1, 2])
    votes = np.eye(3, dtype=np.float32)[labels] * 0.9 + 0.1 / 3
    posterior = _correct(SparseRows.one_hot(labels, 3), votes, top_k=2)
    assert (posterior.argmax() == labels).all()


def test_correction_moves_a_label_gradually_toward_strong_votes():
    # Ten examples of class 0 whose checkers agree, one labelled 0 that the checkers call 1.
    labels = np.zeros(11, dtype=np.int64)
    votes = np.tile(np.array([[0.9, 0.1]], np.float32), (11, 1))
    votes[10] = [0.05, 0.95]
    first = _correct(SparseRows.one_hot(labels, 2), votes, top_k=2)
    second = _correct(first, votes, top_k=2)
    p_given = [1.0, float(first.probability(labels)[10]), float(second.probability(labels)[10])]
    assert p_given[0] > p_given[1] > p_given[2]  # the doubt grows each round
    assert (first.argmax()[:10] == 0).all() and (second.argmax()[:10] == 0).all()


def test_transition_rows_are_distributions():
    labels = np.array([0, 1, 1, 2])
    votes = np.random.default_rng(0).dirichlet(np.ones(4), 4).astype(np.float32)
    transition = transition_matrix(SparseRows.one_hot(labels, 4), votes)
    np.testing.assert_allclose(transition.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(transition[0], votes[0], rtol=1e-6)  # class 0 has one example
    np.testing.assert_allclose(transition[3], 0.25)  # no example of class 3: uniform


def test_copies_of_a_text_share_a_fold():
    groups = np.array([0, 1, 1, 2, 3, 3, 3, 4])
    labels = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    folds = fold_assignments(groups, labels, 3, np.random.default_rng(0))
    for g in np.unique(groups):
        assert len(set(folds[groups == g].tolist())) == 1


def test_sparse_rows_keep_the_largest_entries():
    dense = np.array([[0.1, 0.5, 0.3, 0.1], [0.7, 0.1, 0.1, 0.1]], np.float32)
    rows = SparseRows.from_dense(dense, 2)
    assert rows.argmax().tolist() == [1, 0]
    np.testing.assert_allclose(rows.values.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(rows.dense()[0], [0, 0.625, 0.375, 0], rtol=1e-6)


def test_processes_give_the_same_answer_as_one(noisy_result):
    result, _ = noisy_result
    rows, _ = noisy_rows()
    parallel = find_label_issues(as_examples(rows), "en", CleanSettings(**{**FAST, "workers": 2}))
    assert [s.text for s in parallel.suspects] == [s.text for s in result.suspects]
    np.testing.assert_allclose(parallel.p_wrong, result.p_wrong, atol=1e-4)


def test_public_surface_is_pinned():
    import malmoi.clean

    assert sorted(malmoi.clean.__all__) == sorted([
        "CheckerFeatures", "CheckerRunner", "CleanResult", "CleanSettings", "LabelChecker",
        "LexicalHeadChecker", "Neighbour",
        "PicoResult", "SparseRows", "Suspect", "build_checker", "find_label_issues", "pico",
    ])
    assert all(hasattr(malmoi.clean, name) for name in malmoi.clean.__all__)


def test_ties_in_p_wrong_are_broken_by_the_suggestions_lead(noisy_result):
    """Many suspects reach p_wrong = 1: among equals, the one whose suggestion leads most comes first."""
    suspects = noisy_result[0].suspects
    ties = [(a, b) for a, b in itertools.pairwise(suspects) if a.p_wrong == b.p_wrong]
    assert ties, "the noisy data gives suspects with equal p_wrong"
    assert all(a.p_suggested >= b.p_suggested for a, b in ties)
