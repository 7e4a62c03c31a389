"""Entity metrics against conlleval.pl's own figures, and the error breakdown on hand-made cases.

The expected figures below were produced by running conlleval.pl (CoNLL-2000 version
2000-04-14) on the same sequences, one ``word gold predicted`` line per token.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from malmoi.data.tags import tags_to_word_spans
from malmoi.entity.metrics import conlleval, conlleval_chunks, entity_confusion, entity_report, span_scores
from malmoi.evaluate import fallback_metrics, span_prf
from malmoi.metrics import prf

# name: (gold sequences, predicted sequences, conlleval's totals, per-type (found, guessed, correct))
CONLLEVAL_CASES = {
    "one_wrong_type": (
        [["B-PER", "I-PER", "O", "B-LOC"]],
        [["B-PER", "I-PER", "O", "B-ORG"]],
        # (gold, predicted, correct, accuracy %, precision %, recall %, FB1)
        (2, 2, 1, 75.0, 50.0, 50.0, 50.0),
        {"LOC": (1, 0, 0), "ORG": (0, 1, 0), "PER": (1, 1, 1)},
    ),
    "i_after_o_starts_an_entity": (
        [["O", "I-LOC", "I-LOC"]],
        [["O", "B-LOC", "I-LOC"]],
        (1, 1, 1, 66.666667, 100.0, 100.0, 100.0),
        {"LOC": (1, 1, 1)},
    ),
    "type_change_splits_an_entity": (
        [["B-LOC", "I-LOC"]],
        [["B-LOC", "I-PER"]],
        (1, 2, 0, 50.0, 0.0, 0.0, 0.0),
        {"LOC": (1, 1, 0), "PER": (0, 1, 0)},
    ),
    "short_boundary_is_wrong": (
        [["B-LOC", "I-LOC", "O"]],
        [["B-LOC", "O", "O"]],
        (1, 1, 0, 66.666667, 0.0, 0.0, 0.0),
        {"LOC": (1, 1, 0)},
    ),
    "adjacent_entities_are_two": (
        [["B-LOC", "B-LOC"]],
        [["B-LOC", "I-LOC"]],
        (2, 1, 0, 50.0, 0.0, 0.0, 0.0),
        {"LOC": (2, 1, 0)},
    ),
    "sentence_break_closes_an_entity": (
        [["O", "B-LOC"], ["I-LOC", "O"]],
        [["O", "B-LOC"], ["B-LOC", "O"]],
        (2, 2, 2, 75.0, 100.0, 100.0, 100.0),
        {"LOC": (2, 2, 2)},
    ),
    "small_corpus": (
        [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"], ["O", "I-MISC", "O", "B-PER"],
         ["B-LOC", "B-LOC", "I-LOC"]],
        [["B-PER", "I-PER", "O", "B-LOC", "O", "O", "B-PER"], ["O", "B-MISC", "O", "O"],
         ["B-LOC", "I-LOC", "I-LOC"]],
        (7, 5, 2, 64.285714, 40.0, 28.571429, 33.333333),
        {"LOC": (3, 2, 0), "MISC": (1, 1, 1), "ORG": (1, 0, 0), "PER": (2, 2, 1)},
    ),
}


@pytest.mark.parametrize("name", list(CONLLEVAL_CASES))
def test_conlleval_matches_the_perl_script(name):
    gold, predicted, totals, per_type = CONLLEVAL_CASES[name]
    n_gold, n_predicted, correct, accuracy, precision, recall, f1 = totals
    result = conlleval(gold, predicted)
    micro = result["micro"]
    assert (micro["support"], micro["predicted"], micro["correct"]) == (n_gold, n_predicted, correct)
    assert 100 * result["accuracy"] == pytest.approx(accuracy, abs=1e-5)
    assert 100 * micro["precision"] == pytest.approx(precision, abs=1e-5)
    assert 100 * micro["recall"] == pytest.approx(recall, abs=1e-5)
    assert 100 * micro["f1"] == pytest.approx(f1, abs=1e-5)
    assert {t: (m["support"], m["predicted"], m["correct"]) for t, m in result["per_type"].items()} == per_type


def test_per_type_f1_is_zero_where_conlleval_prints_zero():
    # conlleval prints 0.00 for a type never predicted (precision undefined) or never in the gold.
    per_type = conlleval(*CONLLEVAL_CASES["one_wrong_type"][:2])["per_type"]
    assert per_type["LOC"]["precision"] == per_type["LOC"]["f1"] == 0.0
    assert per_type["ORG"]["recall"] == per_type["ORG"]["f1"] == 0.0


@pytest.mark.parametrize(
    ("tags", "chunks"),
    [
        (["S-LOC", "S-LOC"], [(0, 1, "LOC"), (1, 2, "LOC")]),
        (["B-LOC", "E-LOC", "I-LOC"], [(0, 2, "LOC"), (2, 3, "LOC")]),
        (["B-LOC", "I-LOC", "E-LOC", "O"], [(0, 3, "LOC")]),
        (["E-LOC", "S-PER", "I-PER", "E-PER"], [(0, 1, "LOC"), (1, 2, "PER"), (2, 4, "PER")]),
        (["U-LOC", "B-PER", "L-PER"], [(0, 1, "LOC"), (1, 3, "PER")]),  # BILOU
        (["B-LOC", "I-LOC"], [(0, 2, "LOC")]),  # open at the end: closed there
        ([], []),
    ],
)
def test_chunks_with_an_explicit_end(tags, chunks):
    assert conlleval_chunks(tags) == chunks


_TAGS = st.sampled_from(["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B", "L-A", "U-B"])


@given(st.lists(_TAGS, max_size=12))
def test_chunks_agree_with_the_data_loader(tags):
    """The importer and the loader read tags with tags_to_word_spans; both must be conlleval."""
    assert conlleval_chunks(tags) == [(first, last + 1, t) for first, last, t in tags_to_word_spans(tags)]


_SPANS = st.lists(
    st.tuples(st.integers(0, 8), st.integers(1, 4), st.sampled_from("XYZ")).map(lambda s: (s[0], s[0] + s[1], s[2])),
    max_size=4,
)


@given(st.lists(st.tuples(_SPANS, _SPANS), min_size=1, max_size=5))
def test_micro_scores_equal_the_plain_span_f1(pairs):
    gold, predicted = [g for g, _ in pairs], [p for _, p in pairs]
    micro = span_scores(gold, predicted)["micro"]
    plain = span_prf(gold, predicted)
    assert plain == {key: micro[key] for key in ("precision", "recall", "f1", "support")}
    per_type = span_scores(gold, predicted)["per_type"]
    assert sum(m["correct"] for m in per_type.values()) == micro["correct"]
    assert sum(m["support"] for m in per_type.values()) == micro["support"]


@given(st.lists(st.tuples(_SPANS, _SPANS), min_size=1, max_size=5))
def test_every_gold_entity_is_correct_or_one_error(pairs):
    gold, predicted = [g for g, _ in pairs], [p for _, p in pairs]
    confusion = entity_confusion(gold, predicted)
    n_gold = sum(len(set(g)) for g in gold)
    on_gold = ("correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed")
    assert sum(confusion[k] for k in on_gold) == n_gold
    assert confusion["correct"] == span_scores(gold, predicted)["micro"]["correct"]


# Character spans of "내일 서울 날씨": 내일 0-2, 서울 3-5, 날씨 6-8.
@pytest.mark.parametrize(
    ("gold", "predicted", "kind"),
    [
        ([(3, 5, "LOCATION")], [(3, 5, "LOCATION")], "correct"),
        ([(3, 5, "LOCATION")], [(3, 5, "DATE")], "wrong_type"),
        ([(3, 5, "LOCATION")], [(3, 8, "LOCATION")], "wrong_boundary"),
        ([(0, 5, "DATE")], [(0, 2, "DATE")], "wrong_boundary"),
        ([(3, 5, "LOCATION")], [(0, 5, "DATE")], "wrong_type_and_boundary"),
        ([(3, 5, "LOCATION")], [], "missed"),
        ([(3, 5, "LOCATION")], [(0, 2, "LOCATION")], "missed"),  # and that prediction is spurious
    ],
)
def test_confusion_names_the_kind_of_error(gold, predicted, kind):
    confusion = entity_confusion([gold], [predicted])
    assert confusion[kind] == 1
    others = {"correct", "wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed"} - {kind}
    assert all(confusion[k] == 0 for k in others)
    assert confusion["by_type"][gold[0][2]][kind] == 1


def test_confusion_counts_spurious_predictions_and_type_pairs():
    gold = [[(3, 5, "LOCATION")], [(0, 2, "DATE"), (3, 5, "LOCATION")]]
    predicted = [[(3, 5, "DATE"), (6, 8, "LOCATION")], [(0, 2, "DATE"), (3, 5, "DATE")]]
    confusion = entity_confusion(gold, predicted)
    assert (confusion["correct"], confusion["wrong_type"], confusion["spurious"]) == (1, 2, 1)
    assert confusion["type_pairs"] == {"LOCATION -> DATE": 2}
    assert confusion["by_type"]["LOCATION"]["spurious"] == 1  # by the predicted type


def test_a_prediction_over_two_gold_entities_is_a_boundary_error_for_each():
    confusion = entity_confusion([[(0, 2, "DATE"), (3, 5, "DATE")]], [[(0, 5, "DATE")]])
    assert (confusion["wrong_boundary"], confusion["spurious"]) == (2, 0)


def test_entity_report_is_json_friendly():
    import json

    report = entity_report([[(0, 2, "DATE")]], [[(0, 2, "DATE"), (3, 5, "LOCATION")]])
    assert json.loads(json.dumps(report)) == report
    assert report["per_type"]["LOCATION"]["predicted"] == 1
    assert report["confusion"]["spurious"] == 1


def test_mismatched_lengths_are_a_clear_error():
    with pytest.raises(ValueError, match="2 gold utterances but 1 predicted"):
        span_scores([[], []], [[]])
    with pytest.raises(ValueError, match="sequence 0: 2 gold tags but 1 predicted"):
        conlleval([["O", "O"]], [["O"]])


# --- one precision/recall/F1 convention ---------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "figures"),
    [
        ((2, 4, 4), (0.5, 0.5, 0.5)),
        ((1, 2, 4), (0.25, 0.5, 1 / 3)),
        ((0, 3, 0), (0.0, 0.0, 0.0)),  # nothing predicted: precision undefined, 0 as in conlleval
        ((0, 0, 3), (0.0, 0.0, 0.0)),  # nothing to find: recall undefined, 0 as in conlleval
        ((0, 0, 0), (1.0, 1.0, 1.0)),  # nothing to find and nothing found: nothing went wrong
    ],
)
def test_prf_convention(counts, figures):
    scores = prf(*counts)
    assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx(figures)
    assert (scores["correct"], scores["support"], scores["predicted"]) == counts


def test_prf_refuses_impossible_counts():
    with pytest.raises(ValueError, match="3 correct of 2 gold"):
        prf(3, 2, 5)


def test_every_figure_uses_the_one_convention():
    # A model that predicts nothing on data with entities, and a test set without entities.
    assert span_prf([[(0, 2, "DATE")]], [[]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert span_prf([[]], [[]]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 0}
    assert span_scores([[]], [[]])["micro"]["f1"] == 1.0
    never_falls_back = fallback_metrics(np.zeros(3, bool), np.zeros(2, bool))
    assert (never_falls_back["ood_precision"], never_falls_back["ood_recall"], never_falls_back["ood_f1"]) == (0, 0, 0)


@pytest.mark.parametrize(("gold", "predicted", "expected"), [
    ([(0, 2, "DATE")], [(0, 2, "DATE")], []),
    ([(0, 2, "DATE")], [(0, 2, "LOC")], [("wrong_type", (0, 2, "DATE"), (0, 2, "LOC"))]),
    ([(0, 2, "DATE")], [(0, 3, "DATE")], [("wrong_boundary", (0, 2, "DATE"), (0, 3, "DATE"))]),
    ([(0, 4, "DATE")], [(1, 2, "LOC"), (2, 6, "ORG")], [("wrong_type_and_boundary", (0, 4, "DATE"), (2, 6, "ORG"))]),
    ([(0, 2, "DATE")], [], [("missed", (0, 2, "DATE"), None)]),
    ([], [(3, 5, "LOC")], [("spurious", None, (3, 5, "LOC"))]),
])
def test_span_errors_names_each_error_with_its_spans(gold, predicted, expected):
    from malmoi.entity.metrics import span_errors

    assert span_errors(gold, predicted) == expected
    kinds = entity_confusion([gold], [predicted])
    assert sum(kinds[k] for k in ("wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed",
                                  "spurious")) == len(expected)
