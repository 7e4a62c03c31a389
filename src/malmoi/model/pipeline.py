"""Text to tensors, shared by training and parsing so both see exactly the same features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from malmoi.encode.features import TokenFeaturizer
from malmoi.model.network import Batch
from malmoi.text import Token


@dataclass
class Encoded:
    """One utterance as network inputs (tokens already truncated to ``max_tokens``)."""

    token_ids: list[list[int]]
    pos_ids: list[int]


def encode_tokens(tokens: Sequence[Token], featurizer: TokenFeaturizer) -> Encoded:
    return Encoded(
        token_ids=[featurizer.token_ids(t.text) for t in tokens],
        pos_ids=[featurizer.pos_id(t.pos) for t in tokens],
    )


def collate(items: Sequence[Encoded]) -> Batch:
    """Pads a list of encoded utterances into a ``Batch``.

    An utterance with no tokens (only punctuation the tokenizer dropped, say) still gets one
    padding position marked real, so every row has at least one token for pooling and the CRF.
    """
    length = max(1, max(len(e.token_ids) for e in items))
    bag_ids: list[int] = []
    bag_offsets: list[int] = []
    token_index: list[int] = []
    pos = torch.zeros(len(items), length, dtype=torch.long)
    mask = torch.zeros(len(items), length, dtype=torch.bool)
    for row, item in enumerate(items):
        token_ids = item.token_ids or [[0]]
        for col, ids in enumerate(token_ids):
            bag_offsets.append(len(bag_ids))
            bag_ids.extend(ids)
            token_index.append(row * length + col)
        pos[row, : len(item.pos_ids)] = torch.tensor(item.pos_ids, dtype=torch.long)
        mask[row, : len(token_ids)] = True
    return Batch(
        bag_ids=torch.tensor(bag_ids, dtype=torch.long),
        bag_offsets=torch.tensor(bag_offsets, dtype=torch.long),
        pos_ids=pos,
        mask=mask,
        token_index=torch.tensor(token_index, dtype=torch.long),
    )
