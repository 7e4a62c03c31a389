"""What a registry version stores of a bot's dialogue, and dialogue-only versions (``publish --config-only``).

A version published with ``--data BOT_DIR`` keeps that directory's ``bot.yaml`` beside its model
(its SHA-256 in ``PUBLISHED.json``): the server answers with its scenarios and dialogue
(:mod:`malmoi.dialogue.bot_file`). A dialogue-only version is a new version folder whose model
files are hard links to an earlier version's: versions are never written after they are
published, so sharing the files is safe, costs no disk, and every reader of a version folder
(the server, Ray, ``malmoi retrain``) finds a whole model there as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from malmoi.bots.errors import PublishError

if TYPE_CHECKING:
    from malmoi.settings import BotConfig

__all__ = [
    "BOT_FILE", "check_dialogue", "dialogue_hash", "link_model_files", "stored_bot_file", "stored_dialogue_hash",
]

BOT_FILE = "bot.yaml"  # as malmoi.dialogue.bot_file names it (not imported: the registry loads no YAML reader)
PUBLISHED_FILE = "PUBLISHED.json"  # the version's record (malmoi.bots.registry)


def check_dialogue(bot_dir: Path | None, model_config: BotConfig, intents: Iterable[str],
                   tags: Iterable[str]) -> tuple[bytes | None, str]:
    """The bytes of ``bot_dir/bot.yaml`` (None: no such file), checked against the model, and the
    :func:`dialogue_hash` of what the version will say (the model's own dialogue without one).

    Raises:
        PublishError: the file is wrong, or names an intent or entity type the model does not know.
    """
    from malmoi.dialogue.bot_file import read_bot_file
    from malmoi.dialogue.scenarios import ScenarioError, resolve_scenarios
    from malmoi.labels import tag_types

    path = None if bot_dir is None else bot_dir / BOT_FILE
    if path is None or not path.is_file():
        return None, dialogue_hash(model_config)
    try:
        config = model_config.with_dialogue_of(read_bot_file(path.parent))
        resolve_scenarios(config, intents, tag_types(tags))
    except ScenarioError as exc:
        raise PublishError(f"refused: {path} does not fit the model ({exc}); nothing was published") from None
    return path.read_bytes(), dialogue_hash(config)


def dialogue_hash(config: BotConfig) -> str:
    """What identifies what a bot says: the SHA-256 of its dialogue settings (:data:`DIALOGUE_FIELDS`),
    however they are written (two bot.yaml files that differ in comments or order say the same)."""
    from malmoi.settings import DIALOGUE_FIELDS

    said = config.model_dump(mode="json", include=set(DIALOGUE_FIELDS))
    return hashlib.sha256(json.dumps(said, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def stored_dialogue_hash(version_dir: Path) -> str | None:
    """:func:`dialogue_hash` of a version published before versions recorded it: its model's own
    dialogue, or its stored ``bot.yaml``'s (None when neither can be read)."""
    from malmoi.dialogue.bot_file import dialogue_config
    from malmoi.dialogue.scenarios import ScenarioError
    from malmoi.settings import STORED, BotConfig

    try:
        config = BotConfig.model_validate(json.loads((version_dir / "model.json").read_bytes())["config"],
                                          context=STORED)
        stored = version_dir if (version_dir / BOT_FILE).is_file() else None
        return dialogue_hash(dialogue_config(config, stored))
    except (OSError, ValueError, KeyError, ScenarioError):
        return None


def stored_bot_file(version_dir: Path, version: str) -> Path | None:
    """The ``bot.yaml`` a version was published with, or None; ModelLoadError if it was changed since."""
    from malmoi.errors import ModelLoadError

    try:
        expected = json.loads((version_dir / PUBLISHED_FILE).read_bytes()).get("bot_yaml_sha256")
    except (OSError, ValueError):
        expected = None
    path = version_dir / BOT_FILE
    if expected is None:
        return None
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != expected:
        raise ModelLoadError(f"{path}: changed or missing since {version} was published (its SHA-256 differs from "
                             f"{PUBLISHED_FILE}'s); publish the bot directory again with --config-only")
    return path


def link_model_files(source: Path, target: Path, *, leave_out: Iterable[str]) -> None:
    """Every file under ``source`` but ``leave_out`` (top-level names) into ``target``: hard links,
    or copies where the file system cannot link (another device, no link support)."""
    skipped = set(leave_out)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if relative.parts[0] in skipped or path.is_dir():
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)
