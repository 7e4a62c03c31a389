"""The encoder contract: analysed utterances in, one vector per token out.

An encoder knows nothing of a bot's intents or entities; the heads (:mod:`malmoi.intent.head`,
:mod:`malmoi.entity.head`) read its token vectors. To add one, subclass :class:`Encoder`,
implement ``forward`` (and ``output_dim``), and register it::

    from malmoi import registry
    from malmoi.encode import Encoder
    from malmoi.settings import ComponentSettings

    class CharBagSettings(ComponentSettings):
        type: str = "char_bag.v1"
        dim: int = 64

    @registry.encoders.register("char_bag.v1", settings=CharBagSettings)
    class CharBag(Encoder):
        def __init__(self, settings):
            super().__init__(settings)
            self.output_dim = settings.dim
            self.table = torch.nn.EmbeddingBag(4096, settings.dim)

        def forward(self, docs):   # a list of Doc unless `featurize`/`collate` say otherwise
            ...
            return vectors, mask    # (batch, tokens, dim) and (batch, tokens) bool

``bot.yaml`` then chooses it with ``encoder: {type: char_bag, dim: 32}``. The defaults of
``featurize``, ``collate``, ``export`` and ``from_export`` suit an encoder whose state is its
torch parameters; malmoi's own encoders override them to precompute inputs once per utterance,
to store only the embedding rows they trained, and to parse without torch (``inference``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from malmoi.text.doc import Doc

__all__ = ["Encoder", "TokenVectors"]

# Token vectors of one utterance, ``(tokens, dim)``; an utterance without tokens has one row.
TokenVectors = np.ndarray


class Encoder(nn.Module):
    """Base class of encoders: ``forward(batch) -> (vectors (batch, tokens, dim), mask)``.

    Attributes:
        settings: the validated settings it was built from.
        output_dim: the size of each token vector.
        trainable: False for a frozen encoder (a shared one): only the heads then learn.
        head_dim: size of the intent head's sentence vector (None: ``output_dim``).
    """

    output_dim: int
    trainable: bool = True
    # Size of the heads' sentence vector; None: ``output_dim``. A wide frozen encoder sets it
    # smaller, so that the bot's own weights stay small.
    head_dim: int | None = None

    def __init__(self, settings: Any):
        super().__init__()
        self.settings = settings

    def initialize(self, docs: Sequence[Doc]) -> None:
        """Learn what the encoder reads from the training utterances, before training starts."""

    def adapt(self, docs: Sequence[Doc], intents: Sequence[int], rng: np.random.Generator) -> dict[str, Any] | None:
        """Tune a frozen encoder to the bot's intents before the heads train; a report, or None.

        ``intents`` are the utterances' intent numbers (< 0: out of domain). Most encoders do
        nothing here; a pretrained one may fine-tune a copy of itself (``fine_tune``).
        """
        return None

    def featurize(self, doc: Doc) -> Any:
        """One utterance's inputs; computed once per utterance and reused in every epoch."""
        return doc

    def featurize_many(self, docs: Sequence[Doc]) -> list[Any]:
        """``featurize`` of many utterances; an encoder that batches (a transformer) overrides it."""
        return [self.featurize(doc) for doc in docs]

    def collate(self, features: Sequence[Any]) -> Any:
        """A batch of ``featurize`` outputs, as ``forward`` takes it."""
        return list(features)

    def forward(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able state and named arrays from which ``from_export`` rebuilds the encoder."""
        return {}, {name: t.detach().cpu().numpy() for name, t in self.state_dict().items()}

    @classmethod
    def from_export(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Encoder:
        encoder = cls(settings)
        encoder.load_state_dict({name: torch.from_numpy(np.array(a)) for name, a in arrays.items()})
        return encoder.eval()

    def inference(self) -> Callable[[Doc], TokenVectors] | None:
        """A torch-free function giving one utterance's token vectors, or None to run ``forward``."""
        return None
