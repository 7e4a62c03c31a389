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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from malmoi.encode.pieces import token_rows
from malmoi.encode.runtime import FolderEncoder
from malmoi.errors import ModelLoadError
from malmoi.parts import shared
from malmoi.text.doc import Doc

__all__ = ["StaticRuntime", "load_static_encoder", "loaded_static"]

INSTALL_HINT = "pip install 'malmoi[pretrained]'"
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


class StaticRuntime(FolderEncoder):
    """A loaded model2vec folder: ``vectors(docs)`` → ``(tokens, 2 d)`` per utterance, numpy only.

    Referenced by a model, never copied into it.
    """

    what = "model2vec folder"

    @classmethod
    def is_folder(cls, path: Path) -> bool:
        return _is_model_folder(path)

    @classmethod
    def open(cls, path: Path, sha256: str, settings: Any) -> StaticRuntime:
        return cls(path, sha256, settings)

    def __init__(self, path: Path, sha256: str, settings: Any = None):
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
        self._describe(name=path.name, type_="model2vec.v1", sha256=sha256, path=str(path),
                       output_dim=2 * self.dim, settings=settings)

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes + (0 if self.rows is None else self.rows.nbytes))

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


def loaded_static() -> list[StaticRuntime]:
    """model2vec encoders this process holds now (for tests and memory accounting)."""
    return [r for r in shared.loaded("encoder") if isinstance(r, StaticRuntime)]


def load_static_encoder(settings: Any) -> Any:
    """``registry.encoders`` factory: the encoder that training uses (its vectors are inputs)."""
    from malmoi.encode.shared import FrozenEncoder  # torch: training only

    path = Path(settings.path).expanduser()
    _check_folder(path.resolve() if path.exists() else path)
    encoder = FrozenEncoder(settings, StaticRuntime.shared(path, settings))
    encoder.head_dim = int(settings.head_dim)
    return encoder
