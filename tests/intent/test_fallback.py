import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from malmoi.evaluate import auroc
from malmoi.intent.fallback import choose_threshold, macro_f1_threshold, ood_recall_threshold, quantile_threshold


def _macro_f1(threshold, id_scores, ood_scores):
    id_fb = id_scores < threshold
    ood_fb = ood_scores < threshold
    tp_ood, fp_ood, fn_ood = ood_fb.sum(), id_fb.sum(), (~ood_fb).sum()
    tp_id, fp_id, fn_id = (~id_fb).sum(), (~ood_fb).sum(), id_fb.sum()
    f = lambda tp, fp, fn: 2 * tp / max(2 * tp + fp + fn, 1)  # noqa: E731
    return (f(tp_ood, fp_ood, fn_ood) + f(tp_id, fp_id, fn_id)) / 2


@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=30),
    st.lists(st.integers(0, 20), min_size=1, max_size=30),
)
@settings(max_examples=200, deadline=None)
def test_macro_f1_threshold_is_as_good_as_any_brute_force_threshold(id_raw, ood_raw):
    id_scores, ood_scores = np.array(id_raw, float) / 20, np.array(ood_raw, float) / 20
    chosen = macro_f1_threshold(id_scores, ood_scores)
    candidates = np.concatenate([np.unique(np.concatenate([id_scores, ood_scores])) + 1e-9, [-1.0, 2.0]])
    best = max(_macro_f1(c, id_scores, ood_scores) for c in candidates)
    assert _macro_f1(chosen, id_scores, ood_scores) >= best - 1e-12


def test_macro_f1_threshold_separates_separable_scores():
    threshold = macro_f1_threshold(np.array([0.8, 0.9, 0.95]), np.array([0.1, 0.3, 0.5]))
    assert 0.5 < threshold < 0.8


def test_quantile_threshold_lets_the_requested_share_fall_back():
    scores = np.linspace(0, 1, 1001)
    threshold = quantile_threshold(scores, 0.05)
    # np.quantile interpolates, so the share can be one example off the exact 5 %.
    assert abs(np.mean(scores < threshold) - 0.05) <= 1 / len(scores)


def test_auroc_of_perfect_and_reversed_and_tied_scores():
    assert auroc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auroc(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 0.0
    assert auroc(np.array([0.5, 0.5]), np.array([0.5])) == 0.5


@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=30),
    st.lists(st.integers(0, 20), min_size=1, max_size=30),
    st.sampled_from([0.1, 0.5, 0.8, 0.9, 1.0]),
)
@settings(max_examples=200, deadline=None)
def test_ood_recall_threshold_is_the_lowest_reaching_the_target(id_raw, ood_raw, target):
    id_scores, ood_scores = np.array(id_raw, float) / 20, np.array(ood_raw, float) / 20
    chosen = ood_recall_threshold(id_scores, ood_scores, target)
    assert np.mean(ood_scores < chosen) >= target - 1e-12
    # No lower threshold reaches the target while refusing fewer in-domain utterances.
    for candidate in np.unique(np.concatenate([id_scores, ood_scores])):
        if np.mean(ood_scores < candidate) >= target - 1e-12:
            assert np.sum(id_scores < chosen) <= np.sum(id_scores < candidate)


def test_choose_threshold_follows_the_criterion_and_says_how():
    id_scores, ood_scores = np.linspace(0.5, 1.0, 101), np.linspace(0.0, 0.6, 51)
    threshold, how = choose_threshold(id_scores, ood_scores)
    assert threshold == macro_f1_threshold(id_scores, ood_scores) and "macro-F1" in how
    threshold, how = choose_threshold(id_scores, ood_scores, criterion="ood_recall", target_ood_recall=1.0)
    assert np.all(ood_scores < threshold) and "100.0%" in how
    threshold, how = choose_threshold(id_scores, ood_scores, criterion="false_fallback_rate", false_fallback_rate=0.1)
    assert abs(np.mean(id_scores < threshold) - 0.1) <= 0.01 and "refuses" in how
    # Without out-of-domain scores, only the false-fallback rate can be controlled.
    threshold, how = choose_threshold(id_scores, None, criterion="ood_recall", false_fallback_rate=0.1)
    assert abs(np.mean(id_scores < threshold) - 0.1) <= 0.01 and "no out-of-domain" in how
