"""Model files on disk: written atomically, read with checks that name what is wrong.

A model directory holds ``model.json`` (what the model is: settings, labels, component states,
the checksum of its weights) and ``weights.safetensors`` (arrays only: loading a model cannot
run code), and, unless its encoder is shared, ``encoder/`` (the same pair for the encoder, which
another bot can then reference instead of copying). Writing goes to a temporary folder beside
the target that is renamed into place, so a crash never leaves half a model; files get the
usual permissions (``0666 & ~umask``), so other users can load them. Reading checks the size of
the JSON, its nesting, every field's type (a schema), and each weights file's SHA-256, so a
truncated, zeroed or edited file is one clear error instead of a traceback or a silently
wrong model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from malmoi.errors import ModelLoadError, ModelSaveError

__all__ = [
    "ENCODER_DIR",
    "ENCODER_FILE",
    "MODEL_FILE",
    "WEIGHTS_FILE",
    "ComponentMeta",
    "EncoderMeta",
    "EncoderRef",
    "ModelMeta",
    "ModelMetaV4",
    "PartRecord",
    "WeightsRef",
    "content_hash",
    "read_json",
    "read_model_meta",
    "read_weights",
    "weights_file",
    "write_directory",
]

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"
ENCODER_DIR = "encoder"
ENCODER_FILE = "encoder.json"
MAX_JSON_BYTES = 32 * 1024 * 1024  # model.json holds settings and labels, never tables
_SHA256 = r"^[0-9a-f]{64}$"


class _Schema(BaseModel):
    # Types as written: a threshold of "0.5" or null is a damaged file, not something to coerce.
    model_config = ConfigDict(extra="forbid", strict=True)


class WeightsRef(_Schema):
    file: str = Field(min_length=1)
    sha256: str = Field(pattern=_SHA256)
    bytes: int = Field(ge=0)


class ComponentMeta(_Schema):
    type: str | None = None
    state: dict[str, Any] = {}


class EncoderRef(_Schema):
    """How a model finds its encoder: bundled in its ``encoder/`` folder, or shared elsewhere."""

    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    sha256: str = Field(pattern=_SHA256)
    bundled: bool
    path: str = Field(min_length=1)  # bundled: "encoder"; shared: where it was found when training


class PartRecord(_Schema):
    """One part of a saved model: its kind (the registry it is found in), its registered type, the
    settings it was built from, its state, and the file of its arrays (if it has any)."""

    kind: str = Field(min_length=1)
    type: str = Field(min_length=1)
    settings: dict[str, Any] = {}
    state: dict[str, Any] = {}
    weights: WeightsRef | None = None


class _Labels(_Schema):
    format: Literal["malmoi-model"]
    format_version: int
    malmoi_version: str
    config: dict[str, Any]
    intents: list[str] = Field(min_length=1)
    tags: list[str] = Field(min_length=1)
    report: dict[str, Any] = {}

    @field_validator("tags")
    @classmethod
    def _outside_first(cls, tags: list[str]) -> list[str]:
        if tags[0] != "O" or len(set(tags)) != len(tags):
            raise ValueError("expected distinct tags starting with 'O'")
        return tags

    @field_validator("intents")
    @classmethod
    def _distinct(cls, intents: list[str]) -> list[str]:
        if len(set(intents)) != len(intents):
            raise ValueError("expected distinct intent names")
        return intents


class ModelMeta(_Labels):
    """``model.json`` (format 5): the labels, the settings, and a record per part."""

    parts: dict[str, PartRecord]

    @field_validator("parts")
    @classmethod
    def _core_parts(cls, parts: dict[str, PartRecord]) -> dict[str, PartRecord]:
        missing = [name for name in ("encoder", "intent") if name not in parts]
        if missing:
            raise ValueError(f"expected the parts {', '.join(missing)} (a model encodes and scores intents)")
        for name, record in parts.items():
            if record.weights is not None and record.weights.file != f"{name}.safetensors":
                raise ValueError(f"part {name!r} names the weights file {record.weights.file!r}")
        return parts


class ModelMetaV4(_Labels):
    """``model.json`` of format 4 (one weights file, fixed components), read and converted to parts."""

    threshold: float
    encoder: EncoderRef
    lexical: ComponentMeta
    intent: ComponentMeta
    entity: ComponentMeta | None
    weights: WeightsRef

    @field_validator("threshold", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"expected a finite number, found {value!r}")
        return float(value)


class EncoderMeta(_Schema):
    format: Literal["malmoi-encoder"]
    format_version: int
    malmoi_version: str
    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    settings: dict[str, Any]
    state: dict[str, Any]
    output_dim: int = Field(ge=1)
    weights: WeightsRef


# -- writing ------------------------------------------------------------------------------------


def weights_file(arrays: dict[str, np.ndarray], name: str = WEIGHTS_FILE) -> tuple[bytes, WeightsRef]:
    """The safetensors bytes of ``arrays`` and a reference with their checksum."""
    from safetensors.numpy import save

    data = save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return data, WeightsRef(file=name, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1, allow_nan=False).encode("utf-8")


def content_hash(meta: EncoderMeta) -> str:
    """What identifies an encoder: its type, settings, state and weights (not its name or version)."""
    identity = {"type": meta.type, "settings": meta.settings, "state": meta.state, "weights": meta.weights.sha256}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def write_directory(target: str | Path, files: dict[str, bytes], *, kind: str = "model") -> Path:
    """Write ``files`` (relative path → bytes) as the directory ``target``, atomically, with a manifest.

    ``target`` may be new, empty, or a ``kind`` folder malmoi wrote before (its manifest lists
    every file in it); anything else is refused with :class:`~malmoi.errors.ModelSaveError` and
    left untouched (see :func:`malmoi.outputs.check_folder`). Everything is written into a
    temporary sibling first, with ``manifest.json`` (the SHA-256 of every file); then the old ``target`` (if
    any) is moved aside and the new directory renamed into its place, so the old one stays whole
    until the new one is complete.
    """
    from malmoi.outputs import MANIFEST_FILE, OutputError, check_folder, manifest_bytes

    target = Path(target)
    try:
        check_folder(target, kind, f"the {kind} folder")
    except OutputError as exc:
        raise ModelSaveError(str(exc)) from None
    files = {**files, MANIFEST_FILE: manifest_bytes(kind, files)}
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    umask = _umask()
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        for relative, data in files.items():
            path = staging / relative
            if path.parent != staging:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(path.parent, 0o777 & ~umask)
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(path, 0o666 & ~umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it 0700
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- reading ------------------------------------------------------------------------------------


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``, or a :class:`ModelLoadError` naming the file and the fault."""
    fix = "the model is damaged; train it again (`malmoi train BOT_DIR --out DIR`)"
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ModelLoadError(f"{path}: {size} bytes; {what} is at most {MAX_JSON_BYTES} bytes, so {fix}")
        text = path.read_bytes().decode("utf-8")
        document = json.loads(text)
    except ModelLoadError:
        raise
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); {fix}") from None
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}); {fix}") from None
    except RecursionError:
        raise ModelLoadError(f"{path}: JSON nested too deeply to be {what}; {fix}") from None
    if not isinstance(document, dict):
        raise ModelLoadError(f"{path}: found a JSON {type(document).__name__}; expected the object of {what}; {fix}")
    return document


def validate(schema: type[_Schema], document: dict[str, Any], path: Path) -> Any:
    """``document`` checked against ``schema``; the first fault named with its field."""
    try:
        return schema.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "the document"
        found = repr(first.get("input"))[:60]
        raise ModelLoadError(
            f"{path}: `{field}` {first['msg'].lower()} (found {found}); the file is damaged or from another "
            f"program — train the model again"
        ) from None
    except RecursionError:
        raise ModelLoadError(f"{path}: nested too deeply; the file is damaged — train the model again") from None


def read_weights(directory: Path, ref: WeightsRef) -> dict[str, np.ndarray]:
    """The arrays of a weights file, after checking its size and SHA-256 against ``ref``."""
    from safetensors.numpy import load

    path = directory / ref.file
    if Path(ref.file).name != ref.file:
        raise ModelLoadError(f"{directory}: the weights file name {ref.file!r} is not a plain file name")
    retrain = "the model is damaged (truncated, overwritten or edited); train it again or restore it from a copy"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: missing; {retrain}") from None
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) != ref.bytes:
        raise ModelLoadError(f"{path}: {len(data)} bytes, but the model was saved with {ref.bytes}; {retrain}")
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise ModelLoadError(f"{path}: its checksum does not match the one saved with the model; {retrain}")
    try:
        arrays = load(data)
    except Exception as exc:  # safetensors raises its own error type for every kind of damage
        raise ModelLoadError(f"{path}: not a safetensors file ({exc}); {retrain}") from None
    return {name: array for name, array in arrays.items()}


def subset(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays under ``prefix`` (``"intent."``), with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


# -- model.json, any supported format -------------------------------------------------------------

ArraysOf = Callable[[str, PartRecord], dict[str, np.ndarray]]


def read_model_meta(model_dir: Path, current: int) -> tuple[ModelMeta, ArraysOf]:
    """``model.json`` of ``model_dir`` as format ``current``, and a function giving each part's arrays.

    A format-4 model is converted: its single weights file is split by prefix into its parts, its
    threshold becomes the ``fallback`` part. Other formats are refused with the fix.
    """
    meta_path = model_dir / MODEL_FILE
    if not meta_path.is_file():
        raise ModelLoadError(
            f"{model_dir} is not a malmoi model: expected {MODEL_FILE} in it. "
            f"Train one with `malmoi train BOT_DIR --out {model_dir}`."
        )
    document = read_json(meta_path, "a model description")
    version = document.get("format_version")
    if isinstance(version, str) and version.strip().isdigit():
        raise ModelLoadError(
            f"{meta_path}: `format_version` is the string {version!r}; it must be the number {version.strip()} "
            "(a model written by malmoi never quotes it: the file was edited by hand or by another program)"
        )
    if document.get("format") == "malmoi-model" and version not in (current, 4):
        raise ModelLoadError(
            f"{model_dir} was saved by malmoi {document.get('malmoi_version', '?')} in model format {version!r}; "
            f"this malmoi reads formats 4 and {current}. Train the model again with this version (`malmoi train`), "
            "or install the version that made it."
        )
    if version == 4:
        return _from_format_4(validate(ModelMetaV4, document, meta_path), model_dir)
    meta: ModelMeta = validate(ModelMeta, document, meta_path)
    return meta, lambda name, record: read_weights(model_dir, record.weights) if record.weights else {}


def _from_format_4(old: ModelMetaV4, model_dir: Path) -> tuple[ModelMeta, ArraysOf]:
    settings = old.config.get("settings") or {}
    intent_settings = settings.get("intent") or {}
    parts = {
        "encoder": PartRecord(kind="encoders", type=str((settings.get("encoder") or {}).get("type", old.encoder.type)),
                              settings=settings.get("encoder") or {}, state=old.encoder.model_dump()),
        "intent": PartRecord(kind="intent_heads", type="intent-head.v1", settings=intent_settings,
                             state=old.intent.state),
        "fallback": PartRecord(kind="fallbacks", type="fallback.v1", settings=intent_settings,
                               state={**(old.report.get("calibration") or {}), "threshold": old.threshold}),
    }
    lexical = settings.get("lexical") or {}
    if old.lexical.type and not str(old.lexical.type).startswith("none."):
        parts["lexical"] = PartRecord(kind="lexical", type=old.lexical.type, settings=lexical, state=old.lexical.state)
    if old.entity is not None:
        parts["entity"] = PartRecord(kind="taggers", type=old.entity.type or "crf.v1",
                                     settings=settings.get("entity") or {}, state=old.entity.state)
    meta = ModelMeta(format="malmoi-model", format_version=4, malmoi_version=old.malmoi_version, config=old.config,
                     intents=old.intents, tags=old.tags, parts=parts, report=old.report)
    arrays: dict[str, np.ndarray] | None = None

    def arrays_of(name: str, record: PartRecord) -> dict[str, np.ndarray]:
        nonlocal arrays
        if name not in ("intent", "lexical", "entity"):
            return {}
        if arrays is None:
            arrays = read_weights(model_dir, old.weights)
        return subset(arrays, f"{name}.")

    return meta, arrays_of
