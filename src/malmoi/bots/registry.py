"""A registry of immutable bot versions in a folder: publish, list, switch the live one, roll back.

Layout (plain files, written once and never changed, except each bot's ``LIVE`` pointer)::

    REGISTRY/
      bots/<bot>/versions/v000001/   model.json, <part>.safetensors, manifest.json[, encoder/], PUBLISHED.json
      bots/<bot>/LIVE                {"version": "v000002", "history": ["v000001"]}
      bots/<bot>/LIVE.lock           held while LIVE is switched (empty)
      encoders/<sha256>/             a shared encoder, stored once however many bots use it
      snapshots/<sha256>.tar         a bot directory (bot.yaml + data/) as published, stored once
      keys/<sha256 of the key>.json  API keys, hashed (:mod:`malmoi.bots.keys`)

A version folder is staged under a temporary name and renamed into place, so readers see a whole
version or none; two publishers racing for one number cannot both win the rename (the loser takes
the next number). The live version is switched by writing ``LIVE`` to a temporary file and
renaming it over the old one, which is atomic on POSIX file systems and NFS; readers (the server)
read ``LIVE`` on each request, so a switch needs no restart. Every switch (publish, activate,
rollback) reads ``LIVE`` and writes it back holding the bot's lock (:mod:`malmoi.bots.lock`), so
concurrent switches from threads, processes or machines sharing the folder take turns and none is
lost. Paths inside a version are relative (a shared encoder is found at
``../../../../encoders/<sha256>``), so the folder can be moved, mounted on a shared file system,
or synced to an object store and back unchanged.

Publishing checks the model completely before it becomes a version: its schema, the checksum of
every weights file, that it loads, and that the stored copy parses a set of probe utterances
exactly as the original did. A model that fails any check is refused and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
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

from malmoi.bots.errors import IdenticalModelError, LiveFileError, PublishError, RegistryError
from malmoi.bots.lock import switch_lock
from malmoi.bots.snapshot import bot_tar
from malmoi.errors import ModelLoadError
from malmoi.outputs import MANIFEST_FILE, read_manifest

__all__ = [
    "BOT_NAME_PATTERN",
    "DEFAULT_REGISTRY",
    "PROBE_TEXTS",
    "VERSION_PATTERN",
    "IdenticalModelError",
    "LiveFileError",
    "PublishError",
    "Registry",
    "RegistryError",
    "Switch",
    "VersionInfo",
]

logger = logging.getLogger("malmoi.bots")

# Default folder of `malmoi publish|versions|rollback|keys|serve --registry` when none is given.
DEFAULT_REGISTRY = "registry"
REGISTRY_VARIABLE = "MALMOI_REGISTRY"
# A bot name is a URL path segment and a folder name: lower-case ASCII, digits, - and _. Names are
# matched whole (re.fullmatch: `$` would accept a trailing newline, and make a folder "abc\n").
BOT_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
_BOT_NAME = re.compile(BOT_NAME_PATTERN)
# v000001 ... v999999999999: bounded, so that a name cannot be longer than a file name may be.
VERSION_PATTERN = r"v\d{6,12}"
_VERSION = re.compile(VERSION_PATTERN)
PUBLISHED_FILE = "PUBLISHED.json"
LIVE_FILE = "LIVE"

# What a model folder may hold; anything else (a stray checkpoint, an editor's backup) is not copied.
_MODEL_FILE = "model.json"
# Utterances every published model must parse, and parse the same once stored: a few of each script
# and the empty-of-letters case, so a tokenizer or encoder mismatch shows at publish, not in a query.
PROBE_TEXTS = (
    "안녕하세요", "내일 서울 날씨 알려줘", "부산 맛집 추천해줘", "취소", "what's the weather tomorrow",
    "book a table for two", "12345", "!!!",
)
_HISTORY_KEPT = 50  # rollbacks that LIVE remembers


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
    identical_to: str | None = None  # published with force: the same model as this earlier version


@dataclass(frozen=True)
class Switch:
    """One change of a bot's live version: ``was`` is None when nothing was live or ``LIVE`` was damaged
    (``repaired``: its history of earlier live versions is lost)."""

    bot: str
    live: str
    was: str | None
    repaired: bool = False


def _shown(name: object) -> str:
    """A name as an error message shows it: quoted, escaped, and cut if it is long."""
    text = repr(name)
    return text if len(text) <= 80 else f"{text[:40]}...{text[-8:]} ({len(str(name))} characters)"


def check_bot_name(name: str) -> str:
    if not isinstance(name, str) or not _BOT_NAME.fullmatch(name):
        raise RegistryError(
            f"{_shown(name)} is not a bot name: use 1-64 lower-case letters, digits, '-' or '_', starting with a "
            "letter or digit (it is part of URLs and folder names)"
        )
    return name


def check_version_name(version: str) -> str:
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise RegistryError(f"{_shown(version)} is not a version: versions are named like v000001 "
                            "(v and 6 to 12 digits; `malmoi versions` lists them)")
    return version


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
        return self.bot_dir(bot) / "versions" / check_version_name(version)

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    # -- reading ------------------------------------------------------------------------------

    def bots(self) -> list[str]:
        folder = self.root / "bots"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if _BOT_NAME.fullmatch(p.name) and (p / LIVE_FILE).is_file())

    def _versions(self, bot: str) -> list[str]:
        folder = self.bot_dir(bot) / "versions"
        if not folder.is_dir():
            return []
        return sorted((p.name for p in folder.iterdir() if _VERSION.fullmatch(p.name)), key=lambda v: int(v[1:]))

    def _live(self, bot: str) -> dict[str, Any] | None:
        """``{"version", "history"}`` from the bot's LIVE, or None; LiveFileError if it is damaged."""
        path = self.bot_dir(bot) / LIVE_FILE
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._damaged(bot, path, f"it cannot be read: {exc.strerror}") from None
        except ValueError:
            raise self._damaged(bot, path, "it is not JSON") from None
        version = document.get("version") if isinstance(document, dict) else None
        history = document.get("history", []) if isinstance(document, dict) else None
        if not isinstance(version, str) or not _VERSION.fullmatch(version) or not isinstance(history, list) \
                or not all(isinstance(v, str) and _VERSION.fullmatch(v) for v in history):
            raise self._damaged(bot, path, 'it is not a live-version pointer {"version": "v000001", "history": [...]}')
        return {"version": version, "history": history}

    @staticmethod
    def _damaged(bot: str, path: Path, what: str) -> LiveFileError:
        return LiveFileError(f"{path} is damaged ({what}), so no version of {bot} is live; set it again with "
                             f"`malmoi rollback --bot {bot} --to VERSION` (`malmoi versions --bot {bot}` lists them)")

    def live_version(self, bot: str) -> str | None:
        """The version that answers for ``bot`` now, or None if it has never been published."""
        live = self._live(bot)
        return None if live is None else str(live["version"])

    def live_path(self, bot: str) -> tuple[str, Path] | None:
        """``(version, folder)`` of the live version, or None: what the server loads."""
        version = self.live_version(bot)
        return None if version is None else (version, self.version_dir(bot, version))

    def versions(self, bot: str) -> list[VersionInfo]:
        """Every published version of ``bot``, oldest first, with its training metrics (none is
        marked live when ``LIVE`` is damaged: this lists the versions to repair it with)."""
        try:
            live = self.live_version(bot)
        except LiveFileError:
            live = None
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
                identical_to=info.get("identical_to"),
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
        allow_identical: bool = False,
    ) -> VersionInfo:
        """Check ``model_dir`` completely and store it as the next version of ``bot``.

        Args:
            model_dir: a folder written by ``malmoi train`` (or ``Model.save``).
            bot: the bot's name in the registry (its URL segment).
            data: the bot directory it was trained from; its ``bot.yaml`` and ``data/`` are
                snapshotted with the version so that it can be rebuilt (links followed).
            activate: make the new version live at once (otherwise ``rollback --to`` does).
            probe_texts: utterances the stored copy must parse exactly as the original.
            allow_identical: store a model whose files are those of an existing version of the
                bot as a new version (recorded as ``identical_to``); refused otherwise.

        Raises:
            PublishError: the model is damaged or incompatible (nothing is written then).
            IdenticalModelError: the model is an existing version's, and not ``allow_identical``.
            LiveFileError: the bot's ``LIVE`` is damaged: repair it first (nothing is written).
        """
        check_bot_name(bot)
        self._live(bot)  # a damaged LIVE refuses the publish before anything is checked or stored
        model_dir = Path(model_dir)
        model, before = self._check_model(model_dir, probe_texts)
        snapshot = self._snapshot(Path(data)) if data is not None else None
        bot_folder = self.bot_dir(bot)
        (bot_folder / "versions").mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".publish-", dir=bot_folder))
        try:
            self._copy_model(model, staging)
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
                "files_sha256": _files_hash(staging),
                "intents": len(model.intents),
                "metrics": _metrics(model.report),
                "snapshot": None if snapshot is None else hashlib.sha256(snapshot).hexdigest(),
                "probe": {"texts": list(probe_texts), "answers_sha256": _answers_hash(after)},
            }
            # Under the bot's lock: the check for an identical version, the new number and the switch
            # see every publish that finished before, so none is lost and no twin slips in beside one.
            with switch_lock(bot_folder):
                self._live(bot)
                identical = self._identical_version(bot, record)
                if identical is not None and not allow_identical:
                    raise IdenticalModelError(
                        f"{model_dir} is the model of {bot} {identical} already (the same model.json and weights); "
                        f"nothing was published. Make that version live with `malmoi rollback --bot {bot} --to "
                        f"{identical}`, or publish it again as a new version with --force", identical)
                record["identical_to"] = identical
                if snapshot is not None:
                    self._store_snapshot(snapshot)
                _fsync_write(staging / PUBLISHED_FILE,
                             json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
                os.chmod(staging, 0o755)
                version = self._claim_version(bot, staging)
                if activate:
                    self._switch(bot, version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return next(v for v in self.versions(bot) if v.version == version)

    def _identical_version(self, bot: str, record: dict[str, Any]) -> str | None:
        """The first version of ``bot`` whose stored model.json and weights are those of ``record``."""
        for version in self._versions(bot):
            try:
                info = json.loads((self.version_dir(bot, version) / PUBLISHED_FILE).read_bytes())
            except (OSError, ValueError):
                continue
            if (info.get("model_sha256"), info.get("files_sha256")) == (record["model_sha256"],
                                                                        record["files_sha256"]):
                return version
        return None

    def _check_model(self, model_dir: Path, probe_texts: Sequence[str]) -> tuple[Any, list[dict[str, Any]]]:
        from malmoi.model.model import Model

        missing = [name for name in (_MODEL_FILE,) if not (model_dir / name).is_file()]
        if not model_dir.is_dir() or missing:
            raise PublishError(
                f"{model_dir} is not a malmoi model (missing {', '.join(missing) or 'the folder'}); "
                f"train one with `malmoi train BOT_DIR --out {model_dir}`"
            )
        if read_manifest(model_dir) is None:
            raise PublishError(
                f"refused: {model_dir} has no {MANIFEST_FILE}, so its model.json cannot be checked (it was saved by "
                f"an older malmoi); save it again with this one: python -c \"import malmoi; "
                f"malmoi.load('{model_dir}').save('{model_dir}-checked')\", then publish that folder"
            )
        from malmoi.dialogue.scenarios import ScenarioError, resolve_scenarios
        from malmoi.labels import tag_types

        try:
            # schema, format version, checksums (manifest included), encoder hash; a shared encoder
            # may be one this registry already holds (an upload carries only the bot's own files)
            model = Model.load(model_dir, encoder_dirs=[self.root / "encoders"])
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

    def _copy_model(self, model: Any, staging: Path) -> None:
        """Save ``model`` into ``staging`` as the version will hold it: a shared malmoi encoder is
        stored once per content hash (``encoders/<sha256>``) and referenced relatively, so the
        registry folder can be moved; a pretrained folder stays where it is installed."""
        from malmoi.encode.runtime import ArtifactEncoder

        encoder, path = model.encoder, None
        if not model.encoder_bundled and isinstance(encoder, ArtifactEncoder):
            stored = self._store_encoder(encoder)
            path = os.path.relpath(stored, staging.parent / "versions" / "v000000")
        model.save(staging, encoder_path=path)

    def _store_encoder(self, encoder: Any) -> Path:
        stored = self.root / "encoders" / encoder.sha256
        if stored.is_dir():
            return stored
        stored.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=".encoder-", dir=stored.parent))
        try:
            for name, data in encoder.files().items():
                _fsync_write(temporary / name, data)
            os.chmod(temporary, 0o755)
            os.rename(temporary, stored)
        except OSError:
            shutil.rmtree(temporary, ignore_errors=True)
            if not stored.is_dir():
                raise
        return stored

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

    @staticmethod
    def _snapshot(bot_dir: Path) -> bytes:
        if not (bot_dir / "bot.yaml").is_file() and not (bot_dir / "data").is_dir():
            raise PublishError(f"{bot_dir}: not a bot directory (no bot.yaml or data/); --data takes the folder "
                               "the model was trained from")
        return bot_tar(bot_dir)

    def _store_snapshot(self, data: bytes) -> None:
        path = self.snapshot_path(hashlib.sha256(data).hexdigest())
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _replace_file(path, data)

    # -- the live version ---------------------------------------------------------------------

    def activate(self, bot: str, version: str) -> Switch:
        """Make ``version`` live (atomically); the version it replaces can be rolled back to.

        A damaged ``LIVE`` is not read but replaced: this is how it is repaired (its history of
        earlier live versions is lost, and the new ``LIVE`` says so).
        """
        self._check_published(bot, version)
        with switch_lock(self.bot_dir(bot)):
            return self._switch(bot, version)

    def rollback(self, bot: str, to: str | None = None) -> str:
        """Make the previous live version live again (or ``to``); returns the version now live."""
        if to is not None:
            return self.activate(bot, to).live
        unpublished = RegistryError(
            f"{bot} is not published in {self.root}; publish it with `malmoi publish MODEL --bot {bot}`")
        if self._live(bot) is None:
            raise unpublished
        with switch_lock(self.bot_dir(bot)):
            live = self._live(bot)
            if live is None:
                raise unpublished
            history = list(live["history"])
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

    def _check_published(self, bot: str, version: str) -> None:
        if not (self.version_dir(bot, version) / PUBLISHED_FILE).is_file():
            known = ", ".join(self._versions(bot)) or "none"
            raise RegistryError(f"{bot} has no version {version} (published: {known})")

    def _switch(self, bot: str, version: str) -> Switch:
        """Make ``version`` live; the caller holds the bot's lock."""
        try:
            live = self._live(bot)
        except LiveFileError as exc:
            logger.warning("%s; replaced: %s is live, the earlier live versions are forgotten", exc, version)
            self._write_live(bot, version, [], repaired=f"LIVE was damaged and was replaced; {bot}'s "
                             "earlier live versions (its rollback history) were lost")
            return Switch(bot=bot, live=version, was=None, repaired=True)
        if live is None:
            self._write_live(bot, version, [])
            return Switch(bot=bot, live=version, was=None)
        if live["version"] != version:
            self._write_live(bot, version, [*live["history"], live["version"]][-_HISTORY_KEPT:])
        return Switch(bot=bot, live=version, was=live["version"])

    def _write_live(self, bot: str, version: str, history: list[str], repaired: str | None = None) -> None:
        document: dict[str, Any] = {"version": version, "history": history,
                                    "switched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if repaired:
            document["repaired"] = repaired
        _replace_file(self.bot_dir(bot) / LIVE_FILE, json.dumps(document).encode("utf-8"))


def _files_hash(folder: Path) -> str:
    """What identifies a stored model: every file its manifest lists, by name and SHA-256."""
    manifest = json.loads((folder / MANIFEST_FILE).read_bytes())
    listing = {name: entry["sha256"] for name, entry in manifest["files"].items()}
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode("utf-8")).hexdigest()


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
