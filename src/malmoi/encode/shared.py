"""``shared.v1``: training a bot's heads on a frozen encoder that another model saved.

``encoder: {type: shared, path: models/base/encoder}`` loads that encoder once per process
(:func:`malmoi.encode.runtime.load_encoder`), computes every training utterance's token vectors
once, and trains only the heads and lexical features. The bot's model then stores the encoder's
name and content hash instead of a copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from malmoi.encode.base import Encoder
from malmoi.encode.runtime import EncoderRuntime, load_encoder
from malmoi.text.doc import Doc

__all__ = ["FrozenEncoder", "load_shared_encoder"]


class FrozenEncoder(Encoder):
    """An :class:`EncoderRuntime` behind the training interface: vectors are inputs, not weights."""

    trainable = False

    def __init__(self, settings: Any, runtime: EncoderRuntime):
        super().__init__(settings)
        self.runtime = runtime
        self.output_dim = runtime.output_dim

    def featurize(self, doc: Doc) -> np.ndarray:
        return self.runtime.vectors([doc])[0]

    def collate(self, features: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        length = max(len(f) for f in features)
        vectors = torch.zeros(len(features), length, self.output_dim)
        mask = torch.zeros(len(features), length, dtype=torch.bool)
        for row, f in enumerate(features):
            vectors[row, : len(f)] = torch.from_numpy(np.asarray(f, np.float32))
            mask[row, : len(f)] = True
        return vectors, mask

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return batch


def load_shared_encoder(settings: Any) -> FrozenEncoder:
    return FrozenEncoder(settings, load_encoder(settings.path))
