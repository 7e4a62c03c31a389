"""What a registry version stores of a bot's dialogue, and dialogue-only versions (``publish --config-only``).

A version published with ``--data BOT_DIR`` keeps that directory's ``bot.yaml`` beside its model
(its SHA-256 in ``PUBLISHED.json``): the server answers with its scenarios and dialogue
(:mod:`malmoi.dialogue.bot_file`). A dialogue-only version is a new version folder whose model
files are hard links to an earlier version's: versions are never written after they are
published, so sharing the files is safe, costs no disk, and every reader of a version folder
(the server, Ray, ``malmoi retrain``) finds a whole model there as before.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from malmoi.bots.errors import PublishError
from malmoi.dialogue.bot_file import BOT_FILE, read_bot_file
from malmoi.dialogue.scenarios import ScenarioError, resolve_scenarios
from malmoi.labels import tag_types
from malmoi.settings import BotConfig

__all__ = ["BOT_FILE", "check_dialogue", "link_model_files"]


def check_dialogue(bot_dir: Path, model_config: BotConfig, intents: Iterable[str], tags: Iterable[str]) -> bytes | None:
    """The bytes of ``bot_dir/bot.yaml``, checked against the model (None: the directory has none).

    Raises:
        PublishError: the file is wrong, or names an intent or entity type the model does not know.
    """
    path = bot_dir / BOT_FILE
    if not path.is_file():
        return None
    try:
        config = model_config.with_dialogue_of(read_bot_file(bot_dir))
        resolve_scenarios(config, intents, tag_types(tags))
    except ScenarioError as exc:
        raise PublishError(f"refused: {path} does not fit the model ({exc}); nothing was published") from None
    return path.read_bytes()


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
