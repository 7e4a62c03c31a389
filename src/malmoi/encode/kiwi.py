"""``kiwi-vectors.v1``: Kiwi's pretrained Korean morpheme vectors as a frozen encoder.

kiwipiepy ships a CoNg language model whose 256-dimensional morpheme embeddings
:mod:`malmoi.text.morpheme_vectors` recovers from Kiwi's public similarity function. The default
``cnn`` encoder already adds them to its learned token vectors (``morpheme_vectors: true``); this
component uses them alone, frozen, so that a Korean bot trains only its heads and many bots share
one table (the table is process-wide anyway)::

    token row = [mean vector of the token's morphemes (256) ; mean of the utterance's rows (256)]

A token without a morpheme (a Latin word or a number in a Korean utterance, or text in another
language) gets zeros. The bot stores the vectors' version (kiwipiepy and its model package) as
the encoder's name and a hash of it; loading with another kiwipiepy is refused with the fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from malmoi.artifact import EncoderRef
from malmoi.encode.runtime import EncoderRuntime
from malmoi.errors import ModelLoadError
from malmoi.parts import LoadContext, shared
from malmoi.text.doc import Doc
from malmoi.text.morpheme_vectors import DIM, morpheme_vectors, version

__all__ = ["KiwiVectorsRuntime", "installed_vectors", "load_kiwi_encoder"]


def _hash(vectors_version: str) -> str:
    return hashlib.sha256(f"kiwi-vectors.v1\0{vectors_version}".encode()).hexdigest()


class KiwiVectorsRuntime(EncoderRuntime):
    """``vectors(docs)`` → ``(tokens, 512)`` per utterance from Kiwi's morpheme vectors; numpy only."""

    def __init__(self, settings: Any = None) -> None:
        self.table = morpheme_vectors()
        name = version()
        # `path`: the vectors come with the installed package.
        self._describe(name=name, type_="kiwi-vectors.v1", sha256=_hash(name), path="kiwipiepy",
                       output_dim=2 * DIM, settings=settings)

    def files(self) -> dict[str, bytes]:
        raise TypeError("Kiwi's vectors come with kiwipiepy; a model refers to them, never copies them")

    def vectors(self, docs: Sequence[Doc]) -> list[np.ndarray]:
        out = []
        for doc in docs:
            if not doc.tokens:
                out.append(np.zeros((1, self.output_dim), np.float32))
                continue
            words = np.stack([self.table.token_vector(token.morphemes) for token in doc.tokens])  # (tokens, 256)
            sentence = np.broadcast_to(words.mean(0), words.shape)
            out.append(np.ascontiguousarray(np.concatenate([words, sentence], axis=1), dtype=np.float32))
        return out

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> KiwiVectorsRuntime:
        """The parse-time encoder of a saved model: the installed vectors, if they are the same."""
        ref = EncoderRef.model_validate(state)
        runtime = installed_vectors(settings)
        if runtime.sha256 != ref.sha256:
            raise ModelLoadError(
                f"{context.folder}: trained on Kiwi's morpheme vectors of {ref.name}, but this process has "
                f"{runtime.name}; install that kiwipiepy version or train the model again"
            )
        return runtime


def installed_vectors(settings: Any = None) -> KiwiVectorsRuntime:
    """The vectors of the installed kiwipiepy, once per process (the table is the process's anyway)."""
    runtime: KiwiVectorsRuntime = shared.get(
        "encoder", f"kiwi-vectors:{version()}", lambda: KiwiVectorsRuntime(settings)
    )
    return runtime


def load_kiwi_encoder(settings: Any) -> Any:
    """``registry.encoders`` factory: the encoder that training uses (its vectors are inputs)."""
    from malmoi.encode.shared import FrozenEncoder  # torch: training only

    encoder = FrozenEncoder(settings, installed_vectors(settings))
    encoder.head_dim = int(settings.head_dim)
    return encoder
