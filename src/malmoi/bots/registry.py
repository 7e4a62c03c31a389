"""A registry of immutable bot versions in a folder: publish, list, point environments at them, roll back.

Layout (plain files, written once and never changed, except each bot's environment pointers)::

    REGISTRY/
      bots/<bot>/versions/v000001/   model.json, <part>.safetensors, manifest.json[, encoder/], PUBLISHED.json
                                     [, bot.yaml: what the bot says, published with --data or --config-only]
      bots/<bot>/LIVE                production: {"version": "v000002", "history": ["v000001"]}
      bots/<bot>/envs/<env>.json     beta and the other environments, alike; SPLIT: a traffic split
      bots/<bot>/LIVE.lock           held while a pointer is switched (empty)
      encoders/<sha256>/             a shared encoder, stored once however many bots use it
      snapshots/<sha256>.tar         a bot directory (bot.yaml + data/) as published, stored once
      keys/<sha256 of the key>.json  API keys, hashed (:mod:`malmoi.bots.keys`)

A version folder is staged under a temporary name and renamed into place, so readers see a whole
version or none; two publishers racing for one number cannot both win the rename (the loser takes
the next number). An environment is switched by writing its pointer to a temporary file and
renaming it over the old one, which is atomic on POSIX file systems and NFS; readers (the server)
read it on each request, so a switch needs no restart. Every switch (publish, activate, promote,
rollback) reads the pointer and writes it back holding the bot's lock (:mod:`malmoi.bots.lock`),
so concurrent switches from threads, processes or machines sharing the folder take turns and none
is lost (:mod:`malmoi.bots.environments`). Paths inside a version are relative (a shared encoder is
found at ``../../../../encoders/<sha256>``), so the folder can be moved, mounted on a shared file
system, or synced to an object store and back unchanged. A dialogue-only version's model files are
hard links to its model's version (:mod:`malmoi.bots.config_only`).

Publishing checks the model completely before it becomes a version: its schema, the checksum of
every weights file, that it loads, and that the stored copy parses a set of probe utterances
exactly as the original did. A model that fails any check is refused and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from malmoi.bots.config_only import (
    BOT_FILE,
    PUBLISHED_FILE,
    check_dialogue,
    link_model_files,
    stored_bot_file,
    stored_dialogue_hash,
)
from malmoi.bots.environments import (
    BETA,
    PRODUCTION,
    check_environment,
    environment_names,
    read_pointer,
    read_split,
    split_path,
    write_pointer,
)
from malmoi.bots.errors import IdenticalModelError, LiveFileError, PromotionRefused, PublishError, RegistryError
from malmoi.bots.files import fsync_write, replace_file, sha256_file
from malmoi.bots.lock import switch_lock
from malmoi.bots.records import (
    BOT_NAME,
    BOT_NAME_PATTERN,
    VERSION,
    VERSION_PATTERN,
    Switch,
    VersionInfo,
    answers_hash,
    check_bot_name,
    check_version_name,
    files_hash,
    first_difference,
    probe_answers,
    training_metrics,
)
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

# What a model folder may hold; anything else (a stray checkpoint, an editor's backup) is not copied.
_MODEL_FILE = "model.json"
# Utterances every published model must parse, and parse the same once stored: a few of each script
# and the empty-of-letters case, so a tokenizer or encoder mismatch shows at publish, not in a query.
PROBE_TEXTS = (
    "안녕하세요", "내일 서울 날씨 알려줘", "부산 맛집 추천해줘", "취소", "what's the weather tomorrow",
    "book a table for two", "12345", "!!!",
)


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
        """The bots that have a version in some environment."""
        folder = self.root / "bots"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if BOT_NAME.fullmatch(p.name) and environment_names(p))

    def _versions(self, bot: str) -> list[str]:
        folder = self.bot_dir(bot) / "versions"
        if not folder.is_dir():
            return []
        return sorted((p.name for p in folder.iterdir() if VERSION.fullmatch(p.name)), key=lambda v: int(v[1:]))

    def _live(self, bot: str, environment: str = PRODUCTION) -> dict[str, Any] | None:
        """``{"version", "history"}`` of the environment's pointer, or None; LiveFileError if it is damaged."""
        return read_pointer(bot, self.bot_dir(bot), environment)

    def live_version(self, bot: str, environment: str = PRODUCTION) -> str | None:
        """The version that answers for ``bot`` in ``environment`` now, or None if none does."""
        live = self._live(bot, environment)
        return None if live is None else str(live["version"])

    def live_path(self, bot: str, environment: str = PRODUCTION) -> tuple[str, Path] | None:
        """``(version, folder)`` of the environment's version, or None: what the server loads."""
        version = self.live_version(bot, environment)
        return None if version is None else (version, self.version_dir(bot, version))

    def environments(self, bot: str) -> dict[str, str | None]:
        """Environment → the version it points at (None: its pointer is damaged), production first."""
        found: dict[str, str | None] = {}
        for name in environment_names(self.bot_dir(bot)):
            try:
                found[name] = self.live_version(bot, name)
            except LiveFileError:
                found[name] = None
        return found

    def traffic_split(self, bot: str) -> dict[str, float]:
        """Environment → percent of production's requests it answers (``malmoi split-traffic``)."""
        return read_split(self.bot_dir(bot))

    def split_traffic(self, bot: str, shares: dict[str, float]) -> dict[str, float]:
        """Answer ``shares[env]`` percent of the requests that name no environment with ``env``'s
        version (A/B on live traffic); ``{}`` ends the split. Each environment must point at a version."""
        total = 0.0
        for environment, share in shares.items():
            if check_environment(environment) == PRODUCTION:
                raise RegistryError("production answers what the split leaves; give the other environments' shares, "
                                    "like beta=10")
            if not 0 < share <= 100:
                raise RegistryError(f"{environment}={share:g}: a share is a percent of the requests, above 0 and at "
                                    "most 100 (beta=0 or --off ends a split)")
            total += share
        if total > 100:
            raise RegistryError(f"the shares add up to {total:g} %, more than every request")
        with switch_lock(self.bot_dir(bot)):
            for environment in shares:
                if self.live_version(bot, environment) is None:
                    raise RegistryError(f"{bot} has no version in {environment}; publish one there first with "
                                        f"`malmoi publish MODEL --bot {bot} --env {environment}`")
            replace_file(split_path(self.bot_dir(bot)), json.dumps({"shares": shares}).encode("utf-8"))
        return dict(shares)

    def versions(self, bot: str) -> list[VersionInfo]:
        """Every published version of ``bot``, oldest first, with its training metrics (none is
        marked live when ``LIVE`` is damaged: this lists the versions to repair it with)."""
        environments = self.environments(bot)
        live = environments.get(PRODUCTION)
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
                identical_to=info.get("identical_to"), model_from=info.get("model_from"),
                environments=tuple(env for env, at in environments.items() if at == version),
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
        gate: Mapping[str, Any] | None = None,
        environment: str = PRODUCTION,
    ) -> VersionInfo:
        """Check ``model_dir`` completely and store it as the next version of ``bot``.

        Args:
            model_dir: a folder written by ``malmoi train`` (or ``Model.save``).
            bot: the bot's name in the registry (its URL segment).
            data: the bot directory it was trained from; its ``bot.yaml`` and ``data/`` are
                snapshotted with the version so that it can be rebuilt (links followed), and its
                ``bot.yaml`` is stored in the version: the server answers with its dialogue.
            activate: point ``environment`` at the new version at once (otherwise ``rollback --to`` does).
            probe_texts: utterances the stored copy must parse exactly as the original.
            allow_identical: store a model whose files (and dialogue) are those of an existing
                version of the bot as a new version (recorded as ``identical_to``); refused otherwise.
            environment: the environment the version goes to; a bot's first version goes to
                production too, so that a new bot answers at once.
            gate: what the gate before publishing found (:meth:`malmoi.review.GateResult.record`, with
                a ``--force`` reason), kept in ``PUBLISHED.json`` as ``gate``.

        Raises:
            PublishError: the model is damaged or incompatible (nothing is written then).
            IdenticalModelError: the model is an existing version's, and not ``allow_identical``.
            LiveFileError: the environment's pointer is damaged: repair it first (nothing is written).
        """
        check_bot_name(bot)
        self._live(bot), self._live(bot, check_environment(environment))  # a damaged pointer refuses it at once
        model_dir = Path(model_dir)
        model, before = self._check_model(model_dir, probe_texts)
        dialogue, said = check_dialogue(None if data is None else Path(data), model.config, model.intents, model.tags)
        snapshot = self._snapshot(Path(data)) if data is not None else None
        staging = self._staging(bot)
        try:
            self._copy_model(model, staging)
            if dialogue is not None:
                fsync_write(staging / BOT_FILE, dialogue)
            after = self._verify_copy(staging, probe_texts)
            if after != before:
                raise PublishError(
                    f"{model_dir}: the stored copy answers differently from the original "
                    f"({first_difference(before, after)}); nothing was published"
                )
            record = {
                "bot": bot,
                "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "source": str(model_dir.resolve()),
                "model_sha256": sha256_file(staging / "model.json"),
                "files_sha256": files_hash(staging),
                "dialogue_sha256": said,
                "bot_yaml_sha256": None if dialogue is None else hashlib.sha256(dialogue).hexdigest(),
                "intents": len(model.intents),
                "metrics": training_metrics(model.report),
                "snapshot": None if snapshot is None else hashlib.sha256(snapshot).hexdigest(),
                "probe": {"texts": list(probe_texts), "answers_sha256": answers_hash(after)},
                **({"gate": dict(gate)} if gate is not None else {}),
            }
            version = self._store_version(bot, staging, record, snapshot, str(model_dir), allow_identical,
                                          environment if activate else None)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return next(v for v in self.versions(bot) if v.version == version)

    def publish_config(self, bot: str, data: str | Path, *, environment: str = PRODUCTION, base: str | None = None,
                       activate: bool = True, allow_identical: bool = False) -> VersionInfo:
        """A new version of ``bot`` with the dialogue of ``data``'s ``bot.yaml`` and the model of ``base``
        (default: the version ``environment`` points at, else production's), without retraining.

        The model files are hard links to ``base``'s (versions are never changed, so they can share
        them; copied where the file system cannot link), checked against their manifest and by the
        probe parse; the version records ``model_from``. It is rolled back like any other.

        Raises:
            PublishError: the dialogue does not fit the model, or the copy does not answer as ``base``.
            IdenticalModelError: ``base``'s model with this dialogue is a version already.
            RegistryError: there is no version to take the model from.
        """
        check_bot_name(bot)
        if base is None:
            base = self.live_version(bot, check_environment(environment)) or self.live_version(bot)
            if base is None:
                raise RegistryError(f"{bot} has no version to take the model from; publish a model first with "
                                    f"`malmoi publish MODEL_DIR --bot {bot} --data {data}`")
        self._check_published(bot, base)
        base_dir = self.version_dir(bot, base)
        info = json.loads((base_dir / PUBLISHED_FILE).read_bytes())
        model, before = self._check_model(base_dir, PROBE_TEXTS)
        dialogue, said = check_dialogue(Path(data), model.config, model.intents, model.tags)
        if dialogue is None:
            raise PublishError(f"{data}: no bot.yaml; --config-only publishes a bot directory's bot.yaml")
        snapshot = self._snapshot(Path(data))
        staging = self._staging(bot)
        try:
            link_model_files(base_dir, staging, leave_out=(PUBLISHED_FILE, BOT_FILE))
            fsync_write(staging / BOT_FILE, dialogue)
            if self._verify_copy(staging, PROBE_TEXTS) != before:
                raise PublishError(f"the model files linked from {bot} {base} answer differently from it; nothing "
                                   "was published")
            record = {
                **{k: info.get(k) for k in ("model_sha256", "files_sha256", "intents", "metrics")},
                "bot": bot, "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "source": f"{Path(data).resolve()} (dialogue only; the model of {base})",
                "model_from": info.get("model_from") or base,
                "dialogue_sha256": said, "bot_yaml_sha256": hashlib.sha256(dialogue).hexdigest(),
                "snapshot": hashlib.sha256(snapshot).hexdigest(),
                "probe": {"texts": list(PROBE_TEXTS), "answers_sha256": answers_hash(before)},
            }
            version = self._store_version(bot, staging, record, snapshot, f"{base}'s model with {data}",
                                          allow_identical, environment if activate else None)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return next(v for v in self.versions(bot) if v.version == version)

    def dialogue_path(self, bot: str, version: str) -> Path | None:
        """The version's stored ``bot.yaml`` (None: it answers with the dialogue saved in its model);
        ModelLoadError if the file was changed since it was published."""
        return stored_bot_file(self.version_dir(bot, version), f"{bot} {version}")

    def _staging(self, bot: str) -> Path:
        (self.bot_dir(bot) / "versions").mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".publish-", dir=self.bot_dir(bot)))

    def _store_version(self, bot: str, staging: Path, record: dict[str, Any], snapshot: bytes | None, what: str,
                       allow_identical: bool, environment: str | None) -> str:
        """Record ``staging`` as the next version of ``bot`` and point ``environment`` at it (None: no switch)."""
        # Under the bot's lock: the check for an identical version, the new number and the switch
        # see every publish that finished before, so none is lost and no twin slips in beside one.
        with switch_lock(self.bot_dir(bot)):
            production = self._live(bot)  # a damaged production pointer refuses every publish: repair it first
            if environment is not None:
                self._live(bot, environment)
            identical = self._identical_version(bot, record)
            if identical is not None and not allow_identical:
                raise IdenticalModelError(
                    f"{what} is the model of {bot} {identical} already (the same model.json, weights and dialogue); "
                    f"nothing was published. Make that version live with `malmoi rollback --bot {bot} --to "
                    f"{identical}`, or publish it again as a new version with --force", identical)
            record["identical_to"] = identical
            if snapshot is not None:
                self._store_snapshot(snapshot)
            fsync_write(staging / PUBLISHED_FILE, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
            os.chmod(staging, 0o755)
            version = self._claim_version(bot, staging)
            if environment is not None:
                self._switch(bot, version, environment)
                if environment != PRODUCTION and production is None:  # a new bot answers at once
                    self._switch(bot, version, PRODUCTION)
        return version

    def _identical_version(self, bot: str, record: dict[str, Any]) -> str | None:
        """The first version of ``bot`` whose stored model.json and weights are those of ``record``."""
        for version in self._versions(bot):
            try:
                info = json.loads((self.version_dir(bot, version) / PUBLISHED_FILE).read_bytes())
            except (OSError, ValueError):
                continue
            if all(info.get(k) == record.get(k) for k in ("model_sha256", "files_sha256")):
                said = info.get("dialogue_sha256") or stored_dialogue_hash(self.version_dir(bot, version))
                if said == record.get("dialogue_sha256"):
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
            answers = probe_answers(model, probe_texts)
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
                fsync_write(temporary / name, data)
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
            return probe_answers(Model.load(probe), probe_texts)
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
            replace_file(path, data)

    # -- the environments' versions ------------------------------------------------------------

    def activate(self, bot: str, version: str, environment: str = PRODUCTION) -> Switch:
        """Point ``environment`` at ``version`` (atomically); the version it replaces can be rolled back to.

        A damaged pointer is not read but replaced: this is how it is repaired (its history of
        earlier versions is lost, and the new pointer says so).
        """
        check_environment(environment)
        self._check_published(bot, version)
        with switch_lock(self.bot_dir(bot)):
            return self._switch(bot, version, environment)

    def rollback(self, bot: str, to: str | None = None, environment: str = PRODUCTION) -> str:
        """Point ``environment`` at its previous version again (or ``to``); returns the version it now
        points at. The other environments do not move."""
        if to is not None:
            return self.activate(bot, to, environment).live
        where = "" if environment == PRODUCTION else f" in {environment}"
        unpublished = RegistryError(
            f"{bot} is not published{where} in {self.root}; publish it with `malmoi publish MODEL --bot {bot}`")
        if self._live(bot, check_environment(environment)) is None:
            raise unpublished
        with switch_lock(self.bot_dir(bot)):
            live = self._live(bot, environment)
            if live is None:
                raise unpublished
            history = list(live["history"])
            while history and history[-1] == live["version"]:
                history.pop()
            if not history:
                raise RegistryError(f"{bot} has no earlier live version{where} to roll back to "
                                    f"(live: {live['version']}); name one with --to VERSION")
            previous = history.pop()
            if not (self.version_dir(bot, previous) / PUBLISHED_FILE).is_file():
                raise RegistryError(f"{bot}'s previous version {previous} is missing from {self.root}")
            write_pointer(self.bot_dir(bot), environment, previous, history)
            return previous

    def promote(self, bot: str, source: str = BETA, target: str = PRODUCTION,
                check: Callable[[str], list[str]] | None = None) -> Switch:
        """Point ``target`` at the version ``source`` points at, under the bot's lock.

        ``check(version)`` runs first (the conversation-test gate, :func:`malmoi.bots.gate.gate`):
        failures it returns refuse the promotion (:class:`PromotionRefused`), nothing moves.
        """
        check_environment(source), check_environment(target)
        version = self.live_version(bot, source)
        if version is None:
            raise RegistryError(f"{bot} has no version in {source} to promote; publish one with "
                                f"`malmoi publish MODEL --bot {bot} --env {source}`")
        failures = check(version) if check is not None else []
        if failures:
            raise PromotionRefused(f"{bot} {version} was not promoted to {target}: " + "; ".join(failures), failures)
        with switch_lock(self.bot_dir(bot)):
            if self.live_version(bot, source) != version:
                raise RegistryError(f"{bot}'s {source} moved while {version} was checked; promote again")
            return self._switch(bot, version, target)

    def _check_published(self, bot: str, version: str) -> None:
        if not (self.version_dir(bot, version) / PUBLISHED_FILE).is_file():
            known = ", ".join(self._versions(bot)) or "none"
            raise RegistryError(f"{bot} has no version {version} (published: {known})")

    def _switch(self, bot: str, version: str, environment: str = PRODUCTION) -> Switch:
        """Point ``environment`` at ``version``; the caller holds the bot's lock."""
        folder = self.bot_dir(bot)
        try:
            live = self._live(bot, environment)
        except LiveFileError as exc:
            logger.warning("%s; replaced: %s is live, the earlier live versions are forgotten", exc, version)
            write_pointer(folder, environment, version, [], repaired=f"the pointer was damaged and was replaced; "
                          f"{bot}'s earlier versions in {environment} (its rollback history) were lost")
            return Switch(bot=bot, live=version, was=None, repaired=True, environment=environment)
        if live is None:
            write_pointer(folder, environment, version, [])
            return Switch(bot=bot, live=version, was=None, environment=environment)
        if live["version"] != version:
            write_pointer(folder, environment, version, [*live["history"], live["version"]])
        return Switch(bot=bot, live=version, was=live["version"], environment=environment)
