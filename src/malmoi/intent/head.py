"""The intent head: the encoder's token vectors and the lexical n-grams → one sentence vector →
the intent loss's class centres.

    token vectors ──max + mean pool──linear──┐
                                             ├─ + ─► sentence vector ──► nearest centre, fallback score
    TF-IDF n-grams ──embedding bag (sum)─────┘

The two branches meet by addition, so a centre is learned against both: the n-grams bring the
exact wording, the encoder the context and unseen words. Parsing uses the numpy twin
(:class:`malmoi.intent.scoring.IntentScorer`), which reads what :meth:`IntentHead.export` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from malmoi.featurize.quantize import quantized_arrays
from malmoi.intent.losses import IntentLoss, build_loss

__all__ = ["IntentHead", "LexicalBatch", "collate_lexical", "pool"]


@dataclass
class LexicalBatch:
    rows: torch.Tensor  # (total features,) row of each feature in the lexical table
    offsets: torch.Tensor  # (batch,) where each utterance's features start
    weights: torch.Tensor  # (total features,) TF-IDF weight of each


def collate_lexical(items: list[tuple[np.ndarray, np.ndarray]]) -> LexicalBatch:
    lengths = [len(rows) for rows, _ in items]
    offsets = np.cumsum([0, *lengths[:-1]])
    return LexicalBatch(
        torch.from_numpy(np.concatenate([r for r, _ in items]).astype(np.int64)),
        torch.from_numpy(offsets.astype(np.int64)),
        torch.from_numpy(np.concatenate([w for _, w in items]).astype(np.float32)),
    )


def pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max and mean over real tokens, side by side: ``(batch, tokens, dim)`` → ``(batch, 2 * dim)``."""
    keep = mask.unsqueeze(-1)
    largest = tokens.masked_fill(~keep, torch.finfo(tokens.dtype).min).max(1).values
    mean = (tokens * keep).sum(1) / keep.sum(1).clamp(min=1)
    return torch.cat([largest, mean], -1)


class IntentHead(nn.Module):
    """Sentence vector and intent loss over an encoder of ``input_dim`` and ``lexical_size`` n-gram rows.

    Args:
        input_dim: size of the encoder's token vectors.
        num_intents: number of intents (class centres).
        settings: the bot's :class:`malmoi.settings.IntentSettings` (loss and its options).
        lexical_size: rows of the lexical table; 0 without lexical features.
        lexical_dropout: dropout on the lexical branch's vector while training, so the centres
            cannot lean on the n-grams alone.
        dim: size of the sentence vector; None: ``input_dim``.
    """

    def __init__(
        self,
        input_dim: int,
        num_intents: int,
        settings: Any,
        *,
        lexical_size: int = 0,
        lexical_dropout: float = 0.0,
        dim: int | None = None,
    ):
        super().__init__()
        # The sentence vector's size: the encoder's, unless the encoder asks for a smaller head
        # (a wide frozen pretrained encoder would otherwise make the bot's own weights large).
        dim = dim or input_dim
        self.project = nn.Linear(2 * input_dim, dim)
        self.lexical = nn.EmbeddingBag(lexical_size, dim, mode="sum", sparse=True) if lexical_size else None
        if self.lexical is not None:
            nn.init.uniform_(self.lexical.weight, -0.05, 0.05)
        self.lexical_dropout = lexical_dropout
        # The loss owns the class centres the sentence vectors are retrieved against.
        self.loss: IntentLoss = build_loss(settings.loss, dim, num_intents, settings)

    def sentence(self, tokens: torch.Tensor, mask: torch.Tensor, lexical: LexicalBatch | None) -> torch.Tensor:
        """``(batch, dim)`` sentence vectors."""
        vector = self.project(pool(tokens, mask))
        if self.lexical is not None and lexical is not None:
            bag = self.lexical(lexical.rows, lexical.offsets, per_sample_weights=lexical.weights)  # (batch, dim)
            vector = vector + F.dropout(bag, self.lexical_dropout, self.training)
        return vector

    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = self.loss.export()
        arrays = {f"loss.{k}": v for k, v in arrays.items()}
        arrays["project.weight"] = self.project.weight.detach().numpy()
        arrays["project.bias"] = self.project.bias.detach().numpy()
        if self.lexical is not None:
            arrays.update(quantized_arrays("lexical", self.lexical.weight.detach().numpy()))
        return state, arrays
