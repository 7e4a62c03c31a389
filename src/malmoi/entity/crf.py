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

_FORBIDDEN = -1e4  # large enough to never win, small enough to stay finite in float32


def _split(tag: str) -> tuple[str, str]:
    return ("O", "") if tag == "O" else (tag[0], tag[2:])


def allowed_transitions(tags: list[str], scheme: str) -> np.ndarray:
    """Boolean matrix ``[from, to]``: may tag ``to`` follow tag ``from``? Row/col ``n`` is start/end.

    Returns an ``(n + 1, n + 1)`` matrix where index ``n`` stands for the sentence boundary
    (as ``from`` it is the start, as ``to`` it is the end).
    """
    n = len(tags)
    allowed = np.zeros((n + 1, n + 1), dtype=bool)
    parsed = [_split(t) for t in tags] + [("BOUNDARY", "")]
    if scheme == "BIO":
        ends_entity = {"O", "B", "I", "BOUNDARY"}  # any tag may be last
        starts_entity = {"O", "B"}
    elif scheme == "BIOES":
        ends_entity = {"O", "E", "S", "BOUNDARY"}
        starts_entity = {"O", "B", "S"}
    else:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected 'BIO' or 'BIOES'")
    for i, (p_from, t_from) in enumerate(parsed):
        for j, (p_to, t_to) in enumerate(parsed):
            if p_from == "BOUNDARY" and p_to == "BOUNDARY":
                continue
            if p_to in starts_entity or p_to == "BOUNDARY":
                ok = p_from in ends_entity
            else:  # I or E continue an entity of the same type
                continuing = {"B", "I"}
                ok = p_from in continuing and t_from == t_to
            allowed[i, j] = ok
    return allowed


class CRF(nn.Module):
    """CRF over emission scores ``(batch, tokens, tags)`` with a padding mask."""

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
        transitions, start, end = self._scores()
        batch, length, _ = emissions.shape
        maskf = mask.float()
        lengths = mask.sum(1)
        # Score of the gold path.
        gold = start[tags[:, 0]] + emissions[:, 0].gather(1, tags[:, :1]).squeeze(1)
        for t in range(1, length):
            step = transitions[tags[:, t - 1], tags[:, t]] + emissions[:, t].gather(
                1, tags[:, t : t + 1]
            ).squeeze(1)
            gold = gold + step * maskf[:, t]
        last_tags = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        gold = gold + end[last_tags]
        # Log partition function by the forward algorithm.
        alpha = start.unsqueeze(0) + emissions[:, 0]  # (batch, tags)
        for t in range(1, length):
            # (batch, from, 1) + (from, to) + (batch, 1, to) -> (batch, to)
            nxt = torch.logsumexp(
                alpha.unsqueeze(2) + transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1), dim=1
            )
            alpha = torch.where(mask[:, t : t + 1], nxt, alpha)
        log_z = torch.logsumexp(alpha + end.unsqueeze(0), dim=1)
        return (log_z - gold).mean()

    def decode_numpy(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Constrained transition, start and end scores as numpy arrays for fast decoding."""
        transitions, start, end = self._scores()
        return (
            transitions.detach().numpy().copy(),
            start.detach().numpy().copy(),
            end.detach().numpy().copy(),
        )


def viterbi(
    emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[int]:
    """Best tag path for one sentence; ``emissions`` is ``(tokens, tags)``."""
    length = emissions.shape[0]
    if length == 0:
        return []
    score = start + emissions[0]
    backpointers = np.empty((length, emissions.shape[1]), dtype=np.int64)
    for t in range(1, length):
        candidates = score[:, None] + transitions  # (from, to)
        backpointers[t] = candidates.argmax(0)
        score = candidates.max(0) + emissions[t]
    best = int((score + end).argmax())
    path = [best]
    for t in range(length - 1, 0, -1):
        best = int(backpointers[t, best])
        path.append(best)
    path.reverse()
    return path
