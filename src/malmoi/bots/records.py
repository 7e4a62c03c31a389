"""What a registry records of its bots and versions: names, ``PUBLISHED.json``'s figures, what
``malmoi versions`` lists and what a switch did. Apart from :mod:`malmoi.bots.registry`, which
writes them, so that it stays about publishing and switching."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from malmoi.bots.environments import PRODUCTION
from malmoi.bots.errors import RegistryError
from malmoi.outputs import MANIFEST_FILE

__all__ = [
    "BOT_NAME", "BOT_NAME_PATTERN", "VERSION", "VERSION_PATTERN", "Switch", "VersionInfo", "answers_hash",
    "check_bot_name", "check_version_name", "files_hash", "first_difference", "probe_answers", "training_metrics",
]

# A bot name is a URL path segment and a folder name: lower-case ASCII, digits, - and _. Names are
# matched whole (re.fullmatch: `$` would accept a trailing newline, and make a folder "abc\n").
BOT_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
BOT_NAME = re.compile(BOT_NAME_PATTERN)
# v000001 ... v999999999999: bounded, so that a name cannot be longer than a file name may be.
VERSION_PATTERN = r"v\d{6,12}"
VERSION = re.compile(VERSION_PATTERN)


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
    model_from: str | None = None  # a dialogue-only version (--config-only): the version whose model it uses
    environments: tuple[str, ...] = ()  # the environments that point at it


@dataclass(frozen=True)
class Switch:
    """One change of a bot's live version: ``was`` is None when nothing was live or ``LIVE`` was damaged
    (``repaired``: its history of earlier live versions is lost)."""

    bot: str
    live: str
    was: str | None
    repaired: bool = False
    environment: str = PRODUCTION


def _shown(name: object) -> str:
    """A name as an error message shows it: quoted, escaped, and cut if it is long."""
    text = repr(name)
    return text if len(text) <= 80 else f"{text[:40]}...{text[-8:]} ({len(str(name))} characters)"


def check_bot_name(name: str) -> str:
    if not isinstance(name, str) or not BOT_NAME.fullmatch(name):
        raise RegistryError(
            f"{_shown(name)} is not a bot name: use 1-64 lower-case letters, digits, '-' or '_', starting with a "
            "letter or digit (it is part of URLs and folder names)"
        )
    return name


def check_version_name(version: str) -> str:
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        raise RegistryError(f"{_shown(version)} is not a version: versions are named like v000001 "
                            "(v and 6 to 12 digits; `malmoi versions` lists them)")
    return version


def probe_answers(model: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in model.parse_batch(list(texts))]


def first_difference(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    for b, a in zip(before, after):
        if b != a:
            return f"{b['text']!r}: {b['intent']} before, {a['intent']} once stored"
    return "the number of answers differs"


def files_hash(folder: Path) -> str:
    """What identifies a stored model: every file its manifest lists, by name and SHA-256."""
    manifest = json.loads((folder / MANIFEST_FILE).read_bytes())
    listing = {name: entry["sha256"] for name, entry in manifest["files"].items()}
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode("utf-8")).hexdigest()


def answers_hash(answers: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(answers, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def training_metrics(report: dict[str, Any]) -> dict[str, Any]:
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
