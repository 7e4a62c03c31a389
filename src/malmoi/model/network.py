"""The trainable network: an encoder and two heads, assembled from registered components.

    Doc ──encoder──► token vectors ──┬── intent head (+ lexical n-grams) ──► sentence vector ──► loss / centres
                                     └── entity head ──► emissions ──► CRF

Used only while training (:mod:`malmoi.model.training`); a trained model parses with the heads'
numpy twins (:mod:`malmoi.model.model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from malmoi.encode.base import Encoder
from malmoi.entity.head import EntityHead
from malmoi.intent.head import IntentHead, LexicalBatch

__all__ = ["Batch", "Network"]


@dataclass
class Batch:
    encoder: Any  # what the encoder's `collate` made
    lexical: LexicalBatch | None


class Network(nn.Module):
    def __init__(self, encoder: Encoder, intent: IntentHead, entity: EntityHead | None):
        super().__init__()
        self.encoder = encoder
        self.intent = intent
        self.entity = entity

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Sentence vectors ``(batch, dim)``, emissions ``(batch, tokens, tags)`` or None, mask."""
        if self.encoder.trainable:
            tokens, mask = self.encoder(batch.encoder)
        else:
            with torch.no_grad():
                tokens, mask = self.encoder(batch.encoder)
        sentence = self.intent.sentence(tokens, mask, batch.lexical)
        emissions = self.entity(tokens, sentence) if self.entity is not None else None
        return sentence, emissions, mask

    def trainable_parameters(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """Sparse (embedding tables with sparse gradients) and dense trainable parameters."""
        sparse: list[nn.Parameter] = []
        dense: list[nn.Parameter] = []
        for module_name, module in self.named_modules():
            if module_name.startswith("encoder") and not self.encoder.trainable:
                continue
            for name, parameter in module.named_parameters(recurse=False):
                if not parameter.requires_grad:
                    continue
                is_sparse = isinstance(module, (nn.Embedding, nn.EmbeddingBag)) and module.sparse and name == "weight"
                (sparse if is_sparse else dense).append(parameter)
        return sparse, dense
