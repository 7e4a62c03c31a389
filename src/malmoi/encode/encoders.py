"""Sequence encoders: token vectors in, contextual token vectors out.

An encoder knows nothing of intents or entities: it maps ``(batch, tokens, dim)`` with a
padding mask to ``(batch, tokens, dim)``. Pretrained encoders can slot in behind the same
interface later.
"""

from __future__ import annotations

import torch
from torch import nn

from malmoi.settings import EncoderSettings


class CNNEncoder(nn.Module):
    """Stacked residual 1-D convolutions (Kim 2014; Kochat found CNN features cluster best)."""

    def __init__(self, dim: int, layers: int, kernel_size: int, dropout: float):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2) for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(-1).to(x.dtype)  # (batch, tokens, 1)
        for conv, norm in zip(self.convs, self.norms):
            # Zero the padding so it never leaks into real tokens through the kernel.
            h = conv((x * keep).transpose(1, 2)).transpose(1, 2)  # (batch, tokens, dim)
            x = norm(x + self.dropout(torch.relu(h)))
        return x * keep


class BiLSTMEncoder(nn.Module):
    """Bidirectional LSTM; each direction gets half the dimensions."""

    def __init__(self, dim: int, layers: int, dropout: float):
        super().__init__()
        if dim % 2:
            raise ValueError(f"bilstm needs an even encoder dim, got {dim}")
        self.lstm = nn.LSTM(
            dim, dim // 2, num_layers=layers, bidirectional=True, batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out  # (batch, tokens, dim)


def build_encoder(settings: EncoderSettings) -> nn.Module:
    if settings.kind == "cnn":
        return CNNEncoder(settings.dim, settings.layers, settings.kernel_size, settings.dropout)
    return BiLSTMEncoder(settings.dim, settings.layers, settings.dropout)
