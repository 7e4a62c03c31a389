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
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from malmoi.artifact import EncoderRef
from malmoi.encode.runtime import EncoderRuntime
from malmoi.errors import ModelLoadError
from malmoi.text.doc import Doc
from malmoi.text.morpheme_vectors import DIM, morpheme_vectors, version

__all__ = ["KiwiVectorsRuntime", "load_kiwi_encoder", "load_kiwi_runtime"]


def _hash(vectors_version: str) -> str:
    return hashlib.sha256(f"kiwi-vectors.v1\0{vectors_version}".encode()).hexdigest()


class KiwiVectorsRuntime(EncoderRuntime):
    """``vectors(docs)`` → ``(tokens, 512)`` per utterance from Kiwi's morpheme vectors; numpy only."""

    bundled = False

    def __init__(self) -> None:
        # Deliberately not EncoderRuntime.__init__: nothing is read from a folder.
        self.table = morpheme_vectors()
        self.name = version()
        self.type = "kiwi-vectors.v1"
        self.sha256 = _hash(self.name)
        self.path = "kiwipiepy"  # the vectors come with the installed package
        self.output_dim = 2 * DIM
        self.arrays: dict[str, np.ndarray] = {}

    @property
    def nbytes(self) -> int:
        return 0  # the table is the process's, shared with every Korean bot (malmoi.text.morpheme_vectors)

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


_runtime: KiwiVectorsRuntime | None = None
_lock = threading.Lock()


def _shared_runtime() -> KiwiVectorsRuntime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = KiwiVectorsRuntime()
        return _runtime


def load_kiwi_encoder(settings: Any) -> Any:
    """``registry.encoders`` factory: the encoder that training uses (its vectors are inputs)."""
    from malmoi.encode.shared import FrozenEncoder  # torch: training only

    encoder = FrozenEncoder(settings, _shared_runtime())
    encoder.head_dim = int(settings.head_dim)
    return encoder


def load_kiwi_runtime(settings: Any, ref: EncoderRef, model_dir: Path) -> KiwiVectorsRuntime:
    """The parse-time encoder of a saved model: the installed vectors, if they are the same."""
    runtime = _shared_runtime()
    if runtime.sha256 != ref.sha256:
        raise ModelLoadError(
            f"{model_dir}: trained on Kiwi's morpheme vectors of {ref.name}, but this process has {runtime.name}; "
            "install that kiwipiepy version or train the model again"
        )
    return runtime
