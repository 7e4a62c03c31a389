"""The entity head: token vectors → tag scores (emissions) → a CRF over the tag sequence.

    token vectors ──linear──► emissions ──► CRF (constrained transitions) ──► tags ──► spans
    sentence vector (no gradient) ──linear──► a per-utterance bias on every tag (optional)

The optional bias (``settings.entity.intent_tag_bias``) lets the utterance's intent decide
between look-alike entity types. It reads the sentence vector detached, so the tagging loss
cannot bend the space the intent centres live in. Parsing uses :class:`EntityTagger`, the numpy
twin, with what :meth:`EntityHead.export` writes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from malmoi.entity.crf import CRF

__all__ = ["EntityHead"]


class EntityHead(nn.Module):
    def __init__(self, input_dim: int, sentence_dim: int, tags: list[str], settings: Any):
        super().__init__()
        self.tags = tags
        self.emissions = nn.Linear(input_dim, len(tags))
        self.sentence_tags = nn.Linear(sentence_dim, len(tags), bias=False) if settings.intent_tag_bias else None
        self.use_crf = settings.crf
        self.crf = CRF(tags, settings.scheme)

    def forward(self, tokens: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """``(batch, tokens, tags)`` emission scores."""
        emissions = self.emissions(tokens)
        if self.sentence_tags is not None:
            emissions = emissions + self.sentence_tags(sentence.detach()).unsqueeze(1)
        return emissions

    def loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.use_crf:
            return self.crf.neg_log_likelihood(emissions, tags, mask)
        return F.cross_entropy(emissions[mask], tags[mask])

    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        transitions, start, end = self.crf.decode_numpy()
        arrays = {
            "emissions.weight": self.emissions.weight.detach().numpy(),
            "emissions.bias": self.emissions.bias.detach().numpy(),
            "transitions": transitions, "start": start, "end": end,
        }
        if self.sentence_tags is not None:
            arrays["sentence_tags.weight"] = self.sentence_tags.weight.detach().numpy()
        return {"crf": self.use_crf}, arrays
