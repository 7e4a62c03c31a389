"""malmoi's from-scratch encoders: hashed token embeddings, then a CNN (``cnn.v1``) or a BiLSTM
(``bilstm.v1``). Both learn from the bot's own data; settings in :mod:`malmoi.components`.

    tokens ──hashed pieces + part of speech──► (tokens, dim) ──encoder──► (tokens, dim)

The CNN also parses without torch (:class:`malmoi.encode.inference.CNNInference`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from malmoi.encode.base import Encoder
from malmoi.encode.embedding import TokenBatch, TokenEmbedding, collate_tokens
from malmoi.encode.inference import LAYER_NORM_EPS, CNNInference, TokenInputs
from malmoi.text.doc import Doc

__all__ = ["BiLSTMEncoder", "CNNEncoder"]


class _TokenEncoder(Encoder):
    """Shared by the CNN and the BiLSTM: the token embedding and its featurization."""

    def __init__(self, settings: Any):
        super().__init__(settings)
        self.output_dim = settings.dim
        self.embedding = TokenEmbedding(settings.dim, settings.hash_buckets, morpheme_vectors=settings.morpheme_vectors)
        self.dropout = nn.Dropout(settings.dropout)

    def initialize(self, docs: Sequence[Doc]) -> None:
        self.embedding.initialize(docs)

    def featurize(self, doc: Doc) -> TokenInputs:
        return self.embedding.featurizer(doc)

    def collate(self, features: Sequence[Any]) -> TokenBatch:
        return collate_tokens(features)

    def forward(self, batch: TokenBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.dropout(self.embedding(batch))  # (batch, tokens, dim)
        return self.contextualize(x, batch.mask), batch.mask

    def contextualize(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = self.embedding.export("embedding.")
        for name, tensor in self.state_dict().items():
            if not name.startswith("embedding."):
                arrays[name] = tensor.detach().numpy()
        return state, arrays

    @classmethod
    def from_export(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Encoder:
        encoder = cls(settings)
        encoder.embedding.load_export("embedding.", state, arrays)
        own = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items() if not k.startswith("embedding.")}
        missing = [k for k in encoder.state_dict() if not k.startswith("embedding.") and k not in own]
        if missing:
            raise ValueError(f"the encoder's weights lack {missing[:3]}")
        encoder.load_state_dict(
            {**{k: v for k, v in encoder.state_dict().items() if k.startswith("embedding.")}, **own}
        )
        return encoder.eval()


class CNNEncoder(_TokenEncoder):
    """Stacked residual 1-D convolutions (Kim 2014; Kochat found CNN features cluster best).

    A layer sees ``kernel_size`` neighbouring tokens, so two layers of 3 see five: enough for
    Korean particles and English prepositions around an entity, and no limit on length.
    """

    def __init__(self, settings: Any):
        super().__init__(settings)
        dim, kernel = settings.dim, settings.kernel_size
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, padding=kernel // 2) for _ in range(settings.layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim, eps=LAYER_NORM_EPS) for _ in range(settings.layers))

    def contextualize(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(-1).to(x.dtype)  # (batch, tokens, 1)
        for conv, norm in zip(self.convs, self.norms):
            # Zero the padding so it never leaks into real tokens through the kernel.
            h = conv((x * keep).transpose(1, 2)).transpose(1, 2)  # (batch, tokens, dim)
            x = norm(x + self.dropout(torch.relu(h)))
        return x * keep

    def inference(self) -> Callable[[Doc], np.ndarray]:
        state, arrays = self.export()
        return CNNInference(self.settings, state, arrays)


class BiLSTMEncoder(_TokenEncoder):
    """Bidirectional LSTM; each direction gets half the dimensions. Sees the whole utterance."""

    def __init__(self, settings: Any):
        super().__init__(settings)
        self.lstm = nn.LSTM(
            settings.dim,
            settings.dim // 2,
            num_layers=settings.layers,
            bidirectional=True,
            batch_first=True,
            dropout=settings.dropout if settings.layers > 1 else 0.0,
        )

    def contextualize(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out  # (batch, tokens, dim)
