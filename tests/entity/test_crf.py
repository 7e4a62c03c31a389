import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from malmoi.entity.crf import CRF, allowed_transitions, viterbi

TAGS_BIOES = ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-DATE", "I-DATE", "E-DATE", "S-DATE"]
TAGS_BIO = ["O", "B-LOC", "I-LOC", "B-DATE", "I-DATE"]


def _is_valid(path: list[str], scheme: str) -> bool:
    allowed = allowed_transitions(TAGS_BIOES if scheme == "BIOES" else TAGS_BIO, scheme)
    index = {t: i for i, t in enumerate(TAGS_BIOES if scheme == "BIOES" else TAGS_BIO)}
    boundary = len(index)
    states = [boundary] + [index[t] for t in path] + [boundary]
    return all(allowed[a, b] for a, b in zip(states, states[1:]))


@pytest.mark.parametrize(
    "path, scheme, valid",
    [
        (["O", "I-LOC"], "BIO", False),
        (["B-LOC", "I-LOC", "O"], "BIO", True),
        (["B-LOC", "I-DATE"], "BIO", False),
        (["B-LOC", "O"], "BIOES", False),
        (["B-LOC", "E-LOC", "S-DATE"], "BIOES", True),
        (["B-LOC"], "BIOES", False),
        (["E-LOC"], "BIOES", False),
        (["S-LOC", "O", "B-DATE", "I-DATE", "E-DATE"], "BIOES", True),
    ],
)
def test_allowed_transitions_follow_the_scheme(path, scheme, valid):
    assert _is_valid(path, scheme) is valid


@given(st.integers(1, 7), st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_crf_with_zero_transitions_decodes_like_per_token_argmax(length, seed):
    """With every transition allowed and scored zero, Viterbi is the per-token argmax."""
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(length, 5)).astype(np.float32)
    zeros = np.zeros((5, 5), np.float32)
    assert viterbi(emissions, zeros, np.zeros(5, np.float32), np.zeros(5, np.float32)) == emissions.argmax(1).tolist()


@pytest.mark.parametrize("scheme, tags", [("BIO", TAGS_BIO), ("BIOES", TAGS_BIOES)])
@given(length=st.integers(1, 9), seed=st.integers(0, 10_000))
@settings(max_examples=80, deadline=None)
def test_constrained_decoder_never_emits_an_invalid_sequence(scheme, tags, length, seed):
    torch.manual_seed(seed)
    crf = CRF(tags, scheme)
    with torch.no_grad():  # random learned scores must not be able to override the constraints
        crf.transitions.normal_(0, 3)
        crf.start.normal_(0, 3)
        crf.end.normal_(0, 3)
    emissions = np.random.default_rng(seed).normal(0, 5, size=(length, len(tags))).astype(np.float32)
    path = viterbi(emissions, *crf.decode_numpy())
    assert _is_valid([tags[i] for i in path], scheme)


def test_crf_likelihood_matches_brute_force_enumeration():
    """The forward algorithm's partition function equals the sum over every valid path."""
    torch.manual_seed(0)
    crf = CRF(TAGS_BIO, "BIO")
    with torch.no_grad():
        crf.transitions.normal_()
        crf.start.normal_()
        crf.end.normal_()
    length = 4
    emissions = torch.randn(1, length, len(TAGS_BIO))
    gold = torch.tensor([[1, 2, 0, 3]])
    nll = crf.neg_log_likelihood(emissions, gold, torch.ones(1, length, dtype=torch.bool))

    transitions, start, end = crf._scores()

    def score(path):
        s = start[path[0]] + emissions[0, 0, path[0]] + end[path[-1]]
        for t in range(1, length):
            s = s + transitions[path[t - 1], path[t]] + emissions[0, t, path[t]]
        return s

    paths = itertools.product(range(len(TAGS_BIO)), repeat=length)
    log_z = torch.logsumexp(torch.stack([score(p) for p in paths]), 0)
    assert torch.allclose(nll, log_z - score(gold[0].tolist()), atol=1e-4)


def test_crf_padding_does_not_change_the_likelihood():
    torch.manual_seed(1)
    crf = CRF(TAGS_BIOES, "BIOES")
    emissions = torch.randn(1, 3, len(TAGS_BIOES))
    gold = torch.tensor([[1, 3, 0]])
    plain = crf.neg_log_likelihood(emissions, gold, torch.ones(1, 3, dtype=torch.bool))
    padded = crf.neg_log_likelihood(
        torch.cat([emissions, torch.randn(1, 2, len(TAGS_BIOES))], 1),
        torch.tensor([[1, 3, 0, 0, 0]]),
        torch.tensor([[True, True, True, False, False]]),
    )
    assert torch.allclose(plain, padded, atol=1e-5)
