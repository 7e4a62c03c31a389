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
    return all(allowed[a, b] for a, b in itertools.pairwise(states))


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


def _reference_log_partition(crf: CRF, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The forward algorithm written plainly in log space (the implementation before the matmul)."""
    transitions, start, end = crf._scores()
    alpha = start.unsqueeze(0) + emissions[:, 0]
    for t in range(1, emissions.shape[1]):
        nxt = torch.logsumexp(alpha.unsqueeze(2) + transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1), dim=1)
        alpha = torch.where(mask[:, t : t + 1], nxt, alpha)
    return torch.logsumexp(alpha + end.unsqueeze(0), dim=1)


@pytest.mark.parametrize("scale", [1.0, 8.0])  # 8: emissions as far apart as a trained tagger's
def test_log_partition_matches_the_log_space_recursion_with_its_gradients(scale):
    types = [f"T{i}" for i in range(12)]
    tags = ["O"] + [f"{p}-{t}" for t in types for p in "BIES"]
    torch.manual_seed(0)
    crf = CRF(tags, "BIOES")
    with torch.no_grad():
        crf.transitions.normal_(0, 2)
        crf.start.normal_()
        crf.end.normal_()
    lengths = torch.tensor([7, 1, 4, 7, 2])
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)
    emissions = (scale * torch.randn(5, 7, len(tags))).requires_grad_()
    fast = crf.log_partition(emissions, mask)
    (fast_grad,) = torch.autograd.grad(fast.sum(), emissions)
    slow = _reference_log_partition(crf, emissions, mask)
    (slow_grad,) = torch.autograd.grad(slow.sum(), emissions)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(fast_grad, slow_grad, rtol=1e-4, atol=1e-4)
    assert torch.isfinite(fast_grad).all()


def test_log_partition_of_extreme_emissions_has_finite_gradients():
    torch.manual_seed(1)
    crf = CRF(TAGS_BIOES, "BIOES")
    emissions = (200 * torch.randn(3, 6, len(TAGS_BIOES))).requires_grad_()
    log_z = crf.log_partition(emissions, torch.ones(3, 6, dtype=torch.bool))
    (grad,) = torch.autograd.grad(log_z.sum(), emissions)
    assert torch.isfinite(log_z).all() and torch.isfinite(grad).all()
    # The gradient of log Z by the emissions is each tag's marginal probability: rows sum to 1.
    torch.testing.assert_close(grad.sum(-1), torch.ones(3, 6))
