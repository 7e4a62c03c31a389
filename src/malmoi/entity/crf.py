"""Linear-chain conditional random field with constrained transitions.

Lafferty et al. 2001; the transition constraints follow AllenNLP's ``allowed_transitions``:
a tag sequence that the scheme forbids (``O`` → ``I-X`` in BIO, ``B-X`` → ``O`` in BIOES)
gets a score of minus infinity, both in the training partition function and in decoding, so
the decoder can never emit one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from malmoi.entity.decode import FORBIDDEN as _FORBIDDEN
from malmoi.entity.decode import allowed_transitions, viterbi

__all__ = ["CRF", "allowed_transitions", "viterbi"]

class CRF(nn.Module):
    """CRF over emission scores ``(batch, tokens, tags)`` with a padding mask."""

    # Buffers: minus a large number where the scheme forbids a transition, 0 elsewhere.
    transition_mask: torch.Tensor
    start_mask: torch.Tensor
    end_mask: torch.Tensor

    def __init__(self, tags: list[str], scheme: str):
        super().__init__()
        self.num_tags = len(tags)
        allowed = torch.from_numpy(allowed_transitions(tags, scheme))
        n = self.num_tags
        self.register_buffer("transition_mask", (~allowed[:n, :n]).float() * _FORBIDDEN)
        self.register_buffer("start_mask", (~allowed[n, :n]).float() * _FORBIDDEN)
        self.register_buffer("end_mask", (~allowed[:n, n]).float() * _FORBIDDEN)
        self.transitions = nn.Parameter(torch.zeros(n, n))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            self.transitions + self.transition_mask,
            self.start + self.start_mask,
            self.end + self.end_mask,
        )

    def neg_log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean negative log-likelihood of gold ``tags`` (batch, tokens); mask is bool (batch, tokens).

        Every sequence must have at least one real token, and padding only at the end.
        """
        return -self.log_likelihood(emissions, tags, mask).mean()

    def log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``log p(tags | emissions)`` per sentence ``(batch,)``; arguments as :meth:`neg_log_likelihood`."""
        return self.path_score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalized score of the paths ``tags`` per sentence ``(batch,)``."""
        transitions, start, end = self._scores()
        maskf = mask.to(emissions.dtype)
        lengths = mask.sum(1)
        # Score of the gold path: its emissions, the transitions between real tokens, start and end.
        gold_emissions = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (batch, tokens)
        steps = transitions[tags[:, :-1], tags[:, 1:]]  # (batch, tokens - 1)
        last_tags = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)  # (batch,)
        return (
            start[tags[:, 0]]
            + (gold_emissions * maskf).sum(1)
            + (steps * maskf[:, 1:]).sum(1)
            + end[last_tags]
        )

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Log of the summed score of every path, per sentence (batch,), by the forward algorithm.

        Each step is one matrix product in probability space, rescaled by the running maximum
        (Rabiner 1989's scaling) so nothing overflows: ``log(exp(alpha - m) @ exp(T)) + m``.
        This equals ``logsumexp(alpha[:, :, None] + T, 1)`` but costs a BLAS call instead of a
        (batch, tags, tags) tensor and its exponentials, which with many entity types (SNIPS:
        39 types, 157 BIOES tags) made training about 30 times slower.
        """
        transitions, start, end = self._scores()
        top = transitions.max()
        exp_transitions = (transitions - top).exp()  # (from, to); forbidden transitions are 0
        alpha = start.unsqueeze(0) + emissions[:, 0]  # (batch, tags)
        for t in range(1, emissions.shape[1]):
            peak = alpha.max(1, keepdim=True).values  # (batch, 1)
            total = (alpha - peak).exp() @ exp_transitions  # (batch, to)
            # A tag no allowed path reaches has a total of 0: its log is -inf, as in log space,
            # but through a `where` so that the gradient of log(0) cannot turn into NaN.
            reached = total > 0
            log_total = torch.where(reached, torch.where(reached, total, 1.0).log(), -torch.inf)
            nxt = log_total + peak + top + emissions[:, t]  # (batch, to)
            alpha = torch.where(mask[:, t : t + 1], nxt, alpha)
        return torch.logsumexp(alpha + end.unsqueeze(0), dim=1)

    def decode_numpy(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Constrained transition, start and end scores as numpy arrays for :func:`viterbi`."""
        transitions, start, end = self._scores()
        return (
            transitions.detach().numpy().copy(),
            start.detach().numpy().copy(),
            end.detach().numpy().copy(),
        )
