"""Encoders ready to parse, loaded once per process and shared by every bot that uses them.

An encoder is its own artifact (``encoder.json`` + ``weights.safetensors``, see
:mod:`malmoi.artifact`), identified by a content hash of its type, settings, state and
weights. :func:`load_encoder` keeps each loaded encoder in a process-wide table keyed by that
hash: two bots on the same encoder hold one copy of it, whether the encoder is shared on purpose
(``encoder: {type: shared, path: ...}``) or two models happen to bundle the same one. Entries
live as long as a model uses them (weak references).

Parsing runs the encoder's numpy twin when its component registers one (``cnn.v1`` does);
otherwise the torch module, rebuilt from the exported weights. Nothing here imports torch
unless an encoder needs it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from malmoi._version import __version__
from malmoi.artifact import (
    ENCODER_FILE,
    EncoderMeta,
    content_hash,
    json_bytes,
    read_json,
    read_weights,
    validate,
    weights_file,
)
from malmoi.errors import ModelLoadError
from malmoi.text.doc import Doc

__all__ = ["EncoderRuntime", "encoder_files", "load_encoder", "loaded_encoders"]

ENCODER_FORMAT_VERSION = 1


class EncoderRuntime:
    """A loaded encoder: ``vectors(docs)`` gives each utterance's ``(tokens, dim)`` token vectors."""

    def __init__(self, meta: EncoderMeta, arrays: dict[str, np.ndarray], *, path: str = ""):
        from malmoi import components, registry

        components.register_builtins()
        self.meta = meta
        self.name = meta.name
        self.type = meta.type
        self.sha256 = content_hash(meta)
        self.path = path
        self.output_dim = meta.output_dim
        self.arrays = arrays
        try:
            entry = registry.encoders.get(meta.type)
        except registry.RegistryError as exc:
            raise ModelLoadError(f"{path or meta.name}: {exc}") from None
        self.settings = entry.validate(meta.settings)
        inference = entry.inference_factory
        self._numpy: Callable[[Doc], np.ndarray] | None = None
        self._torch: Any = None
        self._lock = threading.Lock()
        if inference is not None:
            self._numpy = inference(self.settings, meta.state, arrays)
        else:
            self._torch = entry.factory.from_export(self.settings, meta.state, arrays).eval()

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays.values()))

    def vectors(self, docs: Sequence[Doc]) -> list[np.ndarray]:
        if self._numpy is not None:
            return [self._numpy(doc) for doc in docs]
        import torch

        encoder = self._torch
        with self._lock, torch.inference_mode():
            batch = encoder.collate([encoder.featurize(d) for d in docs])
            tokens, mask = encoder(batch)
        lengths = mask.sum(1).tolist()
        return [tokens[i, : max(1, int(n))].float().numpy() for i, n in enumerate(lengths)]

    def files(self) -> dict[str, bytes]:
        """``encoder.json`` and the weights, as :func:`malmoi.artifact.write_directory` takes them."""
        weights, _ = weights_file(self.arrays)
        return {ENCODER_FILE: json_bytes(self.meta.model_dump(mode="json")), self.meta.weights.file: weights}


def encoder_files(
    *,
    name: str,
    type_: str,
    settings: dict[str, Any],
    state: dict[str, Any],
    arrays: dict[str, np.ndarray],
    output_dim: int,
) -> tuple[EncoderMeta, dict[str, bytes]]:
    """The metadata and files of an encoder exported from training."""
    weights, ref = weights_file(arrays)
    meta = EncoderMeta(
        format="malmoi-encoder",
        format_version=ENCODER_FORMAT_VERSION,
        malmoi_version=__version__,
        name=name,
        type=type_,
        settings=settings,
        state=state,
        output_dim=output_dim,
        weights=ref,
    )
    return meta, {ENCODER_FILE: json_bytes(meta.model_dump(mode="json")), ref.file: weights}


_loaded: weakref.WeakValueDictionary[str, EncoderRuntime] = weakref.WeakValueDictionary()
_loading = threading.Lock()


def adopt(runtime: EncoderRuntime) -> EncoderRuntime:
    """The process's copy of ``runtime``'s encoder: an already loaded one with the same hash wins."""
    with _loading:
        existing = _loaded.get(runtime.sha256)
        if existing is not None:
            return existing
        _loaded[runtime.sha256] = runtime
        return runtime


def load_encoder(directory: str | Path, *, expected_sha256: str | None = None) -> EncoderRuntime:
    """The encoder saved in ``directory``, loaded once per process (by content hash)."""
    directory = Path(directory)
    meta_path = directory / ENCODER_FILE
    if not meta_path.is_file():
        raise ModelLoadError(
            f"{directory}: no {ENCODER_FILE}; an encoder folder is the `encoder/` folder of a trained model"
        )
    meta = validate(EncoderMeta, read_json(meta_path, "an encoder description"), meta_path)
    if meta.format_version != ENCODER_FORMAT_VERSION:
        raise ModelLoadError(
            f"{meta_path}: encoder format {meta.format_version}; malmoi {__version__} reads format "
            f"{ENCODER_FORMAT_VERSION}. Train the model that made it again with this version."
        )
    sha256 = content_hash(meta)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ModelLoadError(
            f"{directory}: this encoder (hash {sha256[:12]}) is not the one the model was trained on "
            f"(hash {expected_sha256[:12]}); the heads only fit their own encoder. Put that encoder back, "
            "or train the bot again on this one."
        )
    with _loading:
        existing = _loaded.get(sha256)
    if existing is not None:
        return existing
    arrays = read_weights(directory, meta.weights)
    try:
        runtime = EncoderRuntime(meta, arrays, path=str(directory))
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise ModelLoadError(
            f"{directory}: the encoder's weights do not fit its settings ({exc}); train it again"
        ) from None
    return adopt(runtime)


def loaded_encoders() -> list[EncoderRuntime]:
    """Encoders this process holds now (for tests and memory accounting)."""
    with _loading:
        return list(_loaded.values())
