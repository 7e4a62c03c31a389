"""A registry of immutable bot versions in a folder: publish, list, switch the live one, roll back.

Layout (plain files, written once and never changed, except each bot's ``LIVE`` pointer)::

    REGISTRY/
      bots/<bot>/versions/v000001/   model.json, weights.safetensors[, encoder/], PUBLISHED.json
      bots/<bot>/LIVE                {"version": "v000002", "history": ["v000001"]}
      encoders/<sha256>/             a shared encoder, stored once however many bots use it
      snapshots/<sha256>.tar         a bot directory (bot.yaml + data/) as published, stored once
      keys/<sha256 of the key>.json  API keys, hashed (:mod:`malmoi.bots.keys`)

A version folder is staged under a temporary name and renamed into place, so readers see a whole
version or none; two publishers racing for one number cannot both win the rename (the loser takes
the next number). The live version is switched by writing ``LIVE`` to a temporary file and
renaming it over the old one, which is atomic on POSIX file systems and NFS; readers (the server)
read ``LIVE`` on each request, so a switch needs no restart. Paths inside a version are relative
(a shared encoder is found at ``../../../../encoders/<sha256>``), so the folder can be moved,
mounted on a shared file system, or synced to an object store and back unchanged.

Publishing checks the model completely before it becomes a version: its schema, the checksum of
every weights file, that it loads, and that the stored copy parses a set of probe utterances
exactly as the original did. A model that fails any check is refused and nothing is written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from malmoi.errors import ModelLoadError

__all__ = [
    "BOT_NAME_PATTERN",
    "DEFAULT_REGISTRY",
    "PROBE_TEXTS",
    "PublishError",
    "Registry",
    "RegistryError",
    "VersionInfo",
]

# Default folder of `malmoi publish|versions|rollback|keys|serve --registry` when none is given.
DEFAULT_REGISTRY = "registry"
REGISTRY_VARIABLE = "MALMOI_REGISTRY"
# A bot name is a URL path segment and a folder name: lower-case ASCII, digits, - and _.
BOT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_BOT_NAME = re.compile(BOT_NAME_PATTERN)
_VERSION = re.compile(r"^v(\d{6,})$")
PUBLISHED_FILE = "PUBLISHED.json"
LIVE_FILE = "LIVE"
# What a model folder may hold; anything else (a stray checkpoint, an editor's backup) is not copied.
_MODEL_FILES = ("model.json", "weights.safetensors")
_ENCODER_FOLDER = "encoder"
# Utterances every published model must parse, and parse the same once stored: a few of each script
# and the empty-of-letters case, so a tokenizer or encoder mismatch shows at publish, not in a query.
PROBE_TEXTS = (
    "안녕하세요", "내일 서울 날씨 알려줘", "부산 맛집 추천해줘", "취소", "what's the weather tomorrow",
    "book a table for two", "12345", "!!!",
)
_HISTORY_KEPT = 50  # rollbacks that LIVE remembers


class RegistryError(Exception):
    """A registry operation that cannot be done as asked; the message says why and what to do."""


class PublishError(RegistryError):
    """A model refused at publish (damaged, incompatible, or answering differently once stored)."""


@dataclass(frozen=True)
class VersionInfo:
    """One published version: what ``malmoi versions`` lists."""

    bot: str
    version: str
    path: Path
    published_at: str
    live: bool
    source: str
    model_sha256: str
    intents: int
    metrics: dict[str, Any]
    snapshot: str | None


def check_bot_name(name: str) -> str:
    if not isinstance(name, str) or not _BOT_NAME.match(name):
        raise RegistryError(
            f"{name!r} is not a bot name: use 1-64 lower-case letters, digits, '-' or '_', starting with a "
            "letter or digit (it is part of URLs and folder names)"
        )
    return name


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` atomically: a temporary file in the same folder renamed over it."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        _fsync_write(Path(temporary), data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bot_tar(bot_dir: Path) -> bytes:
    """``bot.yaml`` and ``data/`` as a tar whose bytes depend only on names and contents."""
    files = [bot_dir / "bot.yaml"] if (bot_dir / "bot.yaml").is_file() else []
    if (bot_dir / "data").is_dir():
        files += sorted(p for p in (bot_dir / "data").rglob("*") if p.is_file())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(bot_dir).as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _answers(model: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in model.parse_batch(list(texts))]


def _first_difference(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    for b, a in zip(before, after):
        if b != a:
            return f"{b['text']!r}: {b['intent']} before, {a['intent']} once stored"
    return "the number of answers differs"


class Registry:
    """A folder of published bot versions (see the module docstring for its layout).

    >>> registry = Registry("registry")                                # doctest: +SKIP
    >>> registry.publish("models/demo", bot="weather", data="examples/demo-bot").version  # doctest: +SKIP
    'v000001'
    >>> registry.live_version("weather")                               # doctest: +SKIP
    'v000001'
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @classmethod
    def default_root(cls) -> Path:
        return Path(os.environ.get(REGISTRY_VARIABLE) or DEFAULT_REGISTRY)

    # -- paths --------------------------------------------------------------------------------

    def bot_dir(self, bot: str) -> Path:
        return self.root / "bots" / check_bot_name(bot)

    def version_dir(self, bot: str, version: str) -> Path:
        if not _VERSION.match(version):
            raise RegistryError(
                f"{version!r} is not a version: versions are named like v000001 (see `malmoi versions`)"
            )
        return self.bot_dir(bot) / "versions" / version

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    # -- reading ------------------------------------------------------------------------------

    def bots(self) -> list[str]:
        folder = self.root / "bots"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if _BOT_NAME.match(p.name) and (p / LIVE_FILE).is_file())

    def _versions(self, bot: str) -> list[str]:
        folder = self.bot_dir(bot) / "versions"
        if not folder.is_dir():
            return []
        return sorted((p.name for p in folder.iterdir() if _VERSION.match(p.name)), key=lambda v: int(v[1:]))

    def _live(self, bot: str) -> dict[str, Any] | None:
        path = self.bot_dir(bot) / LIVE_FILE
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{path}: cannot be read ({exc}); set the live version again with "
                                f"`malmoi rollback --bot {bot} --to VERSION`") from None
        if not isinstance(document, dict) or not isinstance(document.get("version"), str):
            raise RegistryError(f"{path}: not a live-version pointer; set it again with "
                                f"`malmoi rollback --bot {bot} --to VERSION`")
        return document

    def live_version(self, bot: str) -> str | None:
        """The version that answers for ``bot`` now, or None if it has never been published."""
        live = self._live(bot)
        return None if live is None else str(live["version"])

    def live_path(self, bot: str) -> tuple[str, Path] | None:
        """``(version, folder)`` of the live version, or None: what the server loads."""
        version = self.live_version(bot)
        return None if version is None else (version, self.version_dir(bot, version))

    def versions(self, bot: str) -> list[VersionInfo]:
        """Every published version of ``bot``, oldest first, with its training metrics."""
        live = self.live_version(bot)
        found = []
        for version in self._versions(bot):
            path = self.version_dir(bot, version)
            try:
                info = json.loads((path / PUBLISHED_FILE).read_bytes())
            except (OSError, ValueError):
                continue  # a version folder without its record was never finished
            found.append(VersionInfo(
                bot=bot, version=version, path=path, published_at=info.get("published_at", "?"),
                live=version == live, source=info.get("source", "?"), model_sha256=info.get("model_sha256", ""),
                intents=int(info.get("intents", 0)), metrics=info.get("metrics", {}), snapshot=info.get("snapshot"),
            ))
        return found

    def snapshot_path(self, sha256: str) -> Path:
        return self.root / "snapshots" / f"{sha256}.tar"

    def restore_snapshot(self, bot: str, version: str, out: str | Path) -> Path:
        """Write the bot directory published with ``version`` to ``out`` (to train it again)."""
        info = json.loads((self.version_dir(bot, version) / PUBLISHED_FILE).read_bytes())
        if not info.get("snapshot"):
            raise RegistryError(f"{bot} {version} was published without its data (no --data); it cannot be rebuilt")
        out = Path(out)
        with tarfile.open(self.snapshot_path(info["snapshot"])) as tar:
            tar.extractall(out, filter="data")
        return out

    # -- publishing ---------------------------------------------------------------------------

    def publish(
        self,
        model_dir: str | Path,
        *,
        bot: str,
        data: str | Path | None = None,
        activate: bool = True,
        probe_texts: Sequence[str] = PROBE_TEXTS,
    ) -> VersionInfo:
        """Check ``model_dir`` completely and store it as the next version of ``bot``.

        Args:
            model_dir: a folder written by ``malmoi train`` (or ``Model.save``).
            bot: the bot's name in the registry (its URL segment).
            data: the bot directory it was trained from; its ``bot.yaml`` and ``data/`` are
                snapshotted with the version so that it can be rebuilt.
            activate: make the new version live at once (otherwise ``rollback --to`` does).
            probe_texts: utterances the stored copy must parse exactly as the original.

        Raises:
            PublishError: the model is damaged or incompatible (nothing is written then).
        """
        check_bot_name(bot)
        model_dir = Path(model_dir)
        model, before = self._check_model(model_dir, probe_texts)
        snapshot = self._store_snapshot(Path(data)) if data is not None else None
        bot_folder = self.bot_dir(bot)
        (bot_folder / "versions").mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=bot_folder))
        try:
            self._copy_model(model_dir, model, staging)
            after = self._verify_copy(staging, probe_texts)
            if after != before:
                raise PublishError(
                    f"{model_dir}: the stored copy answers differently from the original "
                    f"({_first_difference(before, after)}); nothing was published"
                )
            record = {
                "bot": bot,
                "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "source": str(model_dir.resolve()),
                "model_sha256": _sha256_file(staging / "model.json"),
                "weights_sha256": _sha256_file(staging / "weights.safetensors"),
                "intents": len(model.intents),
                "metrics": _metrics(model.report),
                "snapshot": snapshot,
                "probe": {"texts": list(probe_texts), "answers_sha256": _answers_hash(after)},
            }
            _fsync_write(staging / PUBLISHED_FILE, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
            os.chmod(staging, 0o755)
            version = self._claim_version(bot, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if activate:
            self.activate(bot, version)
        return next(v for v in self.versions(bot) if v.version == version)

    def _check_model(self, model_dir: Path, probe_texts: Sequence[str]) -> tuple[Any, list[dict[str, Any]]]:
        from malmoi.model.model import Model

        missing = [name for name in _MODEL_FILES if not (model_dir / name).is_file()]
        if not model_dir.is_dir() or missing:
            raise PublishError(
                f"{model_dir} is not a malmoi model (missing {', '.join(missing) or 'the folder'}); "
                f"train one with `malmoi train BOT_DIR --out {model_dir}`"
            )
        from malmoi.dialogue.scenarios import ScenarioError, resolve_scenarios
        from malmoi.labels import tag_types

        try:
            model = Model.load(model_dir)  # schema, format version, checksums, encoder hash
            answers = _answers(model, probe_texts)
            resolve_scenarios(model.config, model.intents, tag_types(model.tags))
        except ModelLoadError as exc:
            raise PublishError(f"refused: {exc}") from None
        except ScenarioError as exc:
            raise PublishError(
                f"refused: {model_dir}: the scenarios of its bot.yaml do not fit the model ({exc})"
            ) from None
        except Exception as exc:  # the test parse failed: the model cannot answer
            raise PublishError(
                f"refused: {model_dir} loads but cannot parse ({type(exc).__name__}: {exc}); train it again"
            ) from None
        return model, answers

    def _copy_model(self, model_dir: Path, model: Any, staging: Path) -> None:
        for name in _MODEL_FILES:
            shutil.copyfile(model_dir / name, staging / name)
        meta = json.loads((staging / "model.json").read_bytes())
        ref = meta["encoder"]
        if ref["bundled"]:
            shutil.copytree(model_dir / _ENCODER_FOLDER, staging / _ENCODER_FOLDER)
            return
        encoder = model.encoder
        source = Path(encoder.path) if encoder is not None and encoder.path else None
        if source is None or not (source / "encoder.json").is_file():
            return  # a pretrained folder (sentence-transformers): found where it is installed
        # A shared malmoi encoder: stored once per content hash; the version points at it relatively.
        stored = self.root / "encoders" / ref["sha256"]
        if not stored.is_dir():
            stored.parent.mkdir(parents=True, exist_ok=True)
            temporary = Path(tempfile.mkdtemp(prefix=".encoder-", dir=stored.parent))
            try:
                for path in source.iterdir():
                    if path.is_file():
                        shutil.copyfile(path, temporary / path.name)
                os.chmod(temporary, 0o755)
                os.rename(temporary, stored)
            except OSError:
                shutil.rmtree(temporary, ignore_errors=True)
                if not stored.is_dir():
                    raise
        ref["path"] = os.path.relpath(stored, staging.parent / "versions" / "v000000")
        _fsync_write(staging / "model.json", json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))

    def _verify_copy(self, staging: Path, probe_texts: Sequence[str]) -> list[dict[str, Any]]:
        # Loaded from where it will live: the relative encoder path is resolved as the server will.
        from malmoi.model.model import Model

        probe = staging.parent / "versions" / f".verify-{staging.name}"
        os.rename(staging, probe)
        try:
            return _answers(Model.load(probe), probe_texts)
        except ModelLoadError as exc:
            raise PublishError(f"refused: the stored copy does not load ({exc})") from None
        finally:
            os.rename(probe, staging)

    def _claim_version(self, bot: str, staging: Path) -> str:
        versions = self._versions(bot)
        number = int(versions[-1][1:]) + 1 if versions else 1
        for _ in range(1000):
            version = f"v{number:06d}"
            try:
                os.rename(staging, self.version_dir(bot, version))  # fails if another publisher took it
                return version
            except OSError:
                number += 1
        raise RegistryError(f"cannot find a free version number for {bot}")

    def _store_snapshot(self, bot_dir: Path) -> str:
        if not (bot_dir / "bot.yaml").is_file() and not (bot_dir / "data").is_dir():
            raise PublishError(f"{bot_dir}: not a bot directory (no bot.yaml or data/); --data takes the folder "
                               "the model was trained from")
        data = _bot_tar(bot_dir)
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.snapshot_path(sha256)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _replace_file(path, data)
        return sha256

    # -- the live version ---------------------------------------------------------------------

    def activate(self, bot: str, version: str) -> None:
        """Make ``version`` live (atomically); the version it replaces can be rolled back to."""
        if not (self.version_dir(bot, version) / PUBLISHED_FILE).is_file():
            known = ", ".join(self._versions(bot)) or "none"
            raise RegistryError(f"{bot} has no version {version} (published: {known})")
        live = self._live(bot)
        history: list[str] = []
        if live is not None:
            history = [*live.get("history", []), live["version"]][-_HISTORY_KEPT:]
            if live["version"] == version:
                return
        self._write_live(bot, version, history)

    def rollback(self, bot: str, to: str | None = None) -> str:
        """Make the previous live version live again (or ``to``); returns the version now live."""
        live = self._live(bot)
        if live is None:
            raise RegistryError(
                f"{bot} is not published in {self.root}; publish it with `malmoi publish MODEL --bot {bot}`"
            )
        if to is not None:
            self.activate(bot, to)
            return to
        history = [v for v in live.get("history", []) if isinstance(v, str)]
        while history and history[-1] == live["version"]:
            history.pop()
        if not history:
            raise RegistryError(f"{bot} has no earlier live version to roll back to (live: {live['version']}); "
                                "name one with --to VERSION")
        previous = history.pop()
        if not (self.version_dir(bot, previous) / PUBLISHED_FILE).is_file():
            raise RegistryError(f"{bot}'s previous version {previous} is missing from {self.root}")
        self._write_live(bot, previous, history)
        return previous

    def _write_live(self, bot: str, version: str, history: list[str]) -> None:
        document = {"version": version, "history": history,
                    "switched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _replace_file(self.bot_dir(bot) / LIVE_FILE, json.dumps(document).encode("utf-8"))


def _answers_hash(answers: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(answers, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The training figures worth listing beside a version: validation scores, sizes, time."""
    validation = report.get("validation") or {}
    examples = report.get("examples") or {}
    found: dict[str, Any] = {k: validation[k] for k in ("intent_accuracy", "entity_f1") if k in validation}
    if "train" in examples:
        found["train_examples"] = examples["train"]
    if "train_seconds" in report:
        found["train_seconds"] = report["train_seconds"]
    calibration = report.get("calibration") or {}
    if "threshold" in calibration:
        found["threshold"] = calibration["threshold"]
    return found
