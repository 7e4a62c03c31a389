"""``model2vec.v1``: static token embeddings from a local model2vec folder as a frozen encoder.

``encoder: {type: model2vec, path: DIR}`` loads the folder ``DIR`` (``config.json``,
``model.safetensors``, ``tokenizer.json``, as ``StaticModel.save_pretrained`` writes it; for
example a distillation of a sentence-transformers model, see docs/pretrained.md) once per process.
A static model is a table of one vector per word piece (Tulkens and van Dongen 2024, model2vec:
the output of a sentence-transformer for each piece of its vocabulary, reduced with PCA and
weighted by word frequency): an utterance costs a tokenizer call and a table lookup, no network.

Token rows are built as for ``sentence-transformers`` (:func:`malmoi.encode.pieces.token_rows`)::

    token row = [mean of the token's pieces (d) ; model2vec's sentence embedding (d)]      (2 d)

where the sentence embedding is what ``StaticModel.encode`` returns (the mean of the utterance's
known pieces, normalized if the model says so). The bot stores the folder's name, path and content
hash, never the table; loading checks the hash. Parsing needs numpy, ``tokenizers`` and model2vec,
not torch.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from malmoi.artifact import EncoderRef
from malmoi.encode.pieces import folder_hash, token_rows
from malmoi.encode.runtime import EncoderRuntime
from malmoi.errors import ModelLoadError
from malmoi.text.doc import Doc

__all__ = ["StaticRuntime", "load_static_encoder", "load_static_runtime", "loaded_static"]

INSTALL_HINT = "pip install 'malmoi[pretrained]'"
ENCODER_PATH_VARIABLE = "MALMOI_ENCODER_PATH"  # as malmoi.model.model: folders where a moved encoder is found
_FILES = ("config.json", "model.safetensors", "tokenizer.json")

logger = logging.getLogger("malmoi")


def _static_model_class() -> Any:
    try:
        from model2vec import StaticModel
    except ImportError as exc:
        raise ModelLoadError(
            f"the `model2vec` encoder needs the model2vec package ({exc}); install it with `{INSTALL_HINT}`"
        ) from None
    return StaticModel


def _is_model_folder(path: Path) -> bool:
    return all((path / name).is_file() for name in _FILES)


def _check_folder(path: Path) -> None:
    if not path.is_dir():
        raise ModelLoadError(
            f"{path}: the model2vec folder (`encoder.path`) was not found. It must be a local folder with "
            f"{', '.join(_FILES)} (StaticModel.save_pretrained writes one; docs/pretrained.md shows how to distil "
            "the packaged all-MiniLM-L6-v2 into one); nothing is downloaded"
        )
    if not _is_model_folder(path):
        missing = [name for name in _FILES if not (path / name).is_file()]
        raise ModelLoadError(
            f"{path}: not a model2vec folder (no {', '.join(missing)} in it). Point `encoder.path` at the folder "
            "that StaticModel.save_pretrained wrote"
        )


class StaticRuntime(EncoderRuntime):
    """A loaded model2vec folder: ``vectors(docs)`` → ``(tokens, 2 d)`` per utterance, numpy only.

    Has the attributes a model reads from an :class:`EncoderRuntime` (``name``, ``type``,
    ``sha256``, ``path``, ``output_dim``, ``nbytes``) but no malmoi encoder artifact: it is never
    bundled into a model, only referenced.
    """

    bundled = False

    def __init__(self, path: Path, sha256: str):
        # Deliberately not EncoderRuntime.__init__: there is no malmoi encoder.json to read.
        StaticModel = _static_model_class()
        try:
            model = StaticModel.from_pretrained(str(path))
        except Exception as exc:  # a folder that model2vec cannot read, for any reason
            raise ModelLoadError(
                f"{path}: model2vec could not load this folder ({type(exc).__name__}: {exc}); it must be a complete "
                "local model2vec model"
            ) from None
        self.tokenizer = model.tokenizer
        self.table = np.asarray(model.embedding)  # (rows, d); float16 in distilled models: halves the memory
        # A quantized vocabulary maps piece ids to table rows; a weighted one scales each piece.
        self.rows = None if model.token_mapping is None else np.asarray(model.token_mapping, np.int64)
        self.weights = None if model.weights is None else np.asarray(model.weights, np.float32)
        self.unknown = model.unk_token_id  # model2vec drops unknown pieces; so do we
        self.normalize = bool(model.normalize)
        self.dim = int(self.table.shape[1])
        self.output_dim = 2 * self.dim
        self.name = path.name
        self.type = "model2vec.v1"
        self.sha256 = sha256
        self.path = str(path)
        self.arrays: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes + (0 if self.rows is None else self.rows.nbytes))

    def files(self) -> dict[str, bytes]:
        raise TypeError("a model2vec encoder is referenced by a model, never copied into it")

    def vectors(self, docs: Sequence[Doc]) -> list[np.ndarray]:
        """Token vectors of each utterance, ``(max(1, tokens), 2 d)`` float32."""
        encodings = self.tokenizer.encode_batch([doc.normalized for doc in docs], add_special_tokens=False)
        return [self._rows(doc, encoding) for doc, encoding in zip(docs, encodings)]

    def _rows(self, doc: Doc, encoding: Any) -> np.ndarray:
        ids = np.asarray(encoding.ids, np.int64)
        offsets = np.asarray(encoding.offsets, np.int64).reshape(-1, 2)
        known = ids != self.unknown if self.unknown is not None else np.ones(len(ids), bool)
        pieces = self.table[ids if self.rows is None else self.rows[ids]].astype(np.float32)  # (pieces, d)
        if self.weights is not None:
            pieces *= self.weights[ids][:, None]
        sentence = pieces[known].mean(0) if known.any() else np.zeros(self.dim, np.float32)
        if self.normalize:
            sentence = sentence / (float(np.linalg.norm(sentence)) + 1e-32)
        return token_rows(doc, pieces, offsets, known, sentence)


_loaded: weakref.WeakValueDictionary[tuple[str, str], StaticRuntime] = weakref.WeakValueDictionary()
_loading = threading.Lock()


def _runtime(path: Path, *, expected_sha256: str | None) -> StaticRuntime:
    path = path.resolve()
    sha256 = folder_hash(path)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ModelLoadError(
            f"{path}: this model2vec folder (hash {sha256[:12]}) is not the one the model was trained on (hash "
            f"{expected_sha256[:12]}): its files changed. The heads only fit their own encoder: put the original "
            "folder back, or train the bot again on this one"
        )
    with _loading:
        runtime = _loaded.get((str(path), sha256))
        if runtime is None:
            runtime = StaticRuntime(path, sha256)
            _loaded[(str(path), sha256)] = runtime
    return runtime


def loaded_static() -> list[StaticRuntime]:
    """model2vec encoders this process holds now (for tests and memory accounting)."""
    with _loading:
        return list(_loaded.values())


def load_static_encoder(settings: Any) -> Any:
    """``registry.encoders`` factory: the encoder that training uses (its vectors are inputs)."""
    from malmoi.encode.shared import FrozenEncoder  # torch: training only

    path = Path(settings.path).expanduser()
    _check_folder(path.resolve() if path.exists() else path)
    encoder = FrozenEncoder(settings, _runtime(path, expected_sha256=None))
    encoder.head_dim = int(settings.head_dim)
    return encoder


def load_static_runtime(settings: Any, ref: EncoderRef, model_dir: Path) -> StaticRuntime:
    """The parse-time encoder of a saved model: the referenced folder, its hash checked."""
    candidates = [Path(ref.path), Path(settings.path).expanduser(), model_dir / ref.path]
    candidates += [Path(p) / ref.name for p in os.environ.get(ENCODER_PATH_VARIABLE, "").split(os.pathsep) if p]
    for candidate in candidates:
        if _is_model_folder(candidate):
            return _runtime(candidate, expected_sha256=ref.sha256)
    raise ModelLoadError(
        f"{model_dir} uses the model2vec folder {ref.name!r} (hash {ref.sha256[:12]}), found at {ref.path} when it "
        f"was trained; it is not there now. Put it back, or list the folder that holds {ref.name!r} in "
        f"{ENCODER_PATH_VARIABLE}"
    )
