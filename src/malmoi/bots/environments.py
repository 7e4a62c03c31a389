"""A registry bot's environments: named pointers at its versions (``production``, ``beta``, more by name).

Each environment is one small JSON file, ``{"version": "v000002", "history": ["v000001"],
"switched_at": ...}``, replaced atomically (a temporary file renamed over it) while the bot's lock
is held (:mod:`malmoi.bots.lock`)::

    bots/<bot>/LIVE              production (the file of registries made before environments)
    bots/<bot>/envs/<name>.json  every other environment: beta, staging, ...
    bots/<bot>/SPLIT             {"beta": 10}: the share of production's traffic answered by beta

``production`` keeps the name and place of the single ``LIVE`` pointer registries had before,
so a registry written before environments is read unchanged: its live version is production's.
Requests that name no environment go to production (less the traffic split off, if any).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from malmoi.bots.errors import LiveFileError, RegistryError
from malmoi.bots.files import replace_file

__all__ = [
    "BETA", "ENVIRONMENT_PATTERN", "PRODUCTION", "check_environment", "environment_names", "pointer_path",
    "read_pointer", "read_split", "split_path", "write_pointer",
]

PRODUCTION, BETA = "production", "beta"
LIVE_FILE = "LIVE"
SPLIT_FILE = "SPLIT"
ENVIRONMENT_PATTERN = r"[a-z][a-z0-9_-]{0,31}"
_ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
_VERSION = re.compile(r"v\d{6,12}")
HISTORY_KEPT = 50  # switches that each environment remembers (its rollbacks)


def check_environment(name: object) -> str:
    """``name`` if it can name an environment (a file name and a query value), else RegistryError."""
    if not isinstance(name, str) or not _ENVIRONMENT.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 40 else repr(name)[:36] + "...'"
        raise RegistryError(f"{shown} is not an environment name: use 1-32 lower-case letters, digits, '-' or '_', "
                            f"starting with a letter (like {PRODUCTION} or {BETA})")
    return name


def pointer_path(bot_folder: Path, environment: str) -> Path:
    if check_environment(environment) == PRODUCTION:
        return bot_folder / LIVE_FILE
    return bot_folder / "envs" / f"{environment}.json"


def split_path(bot_folder: Path) -> Path:
    return bot_folder / SPLIT_FILE


def environment_names(bot_folder: Path) -> list[str]:
    """The environments that point at a version (or whose pointer is damaged), production first."""
    names = [PRODUCTION] if (bot_folder / LIVE_FILE).is_file() else []
    folder = bot_folder / "envs"
    if folder.is_dir():
        names += sorted(path.stem for path in folder.glob("*.json")
                        if _ENVIRONMENT.fullmatch(path.stem) and path.stem != PRODUCTION)
    return names


def read_pointer(bot: str, bot_folder: Path, environment: str) -> dict[str, Any] | None:
    """``{"version", "history"}`` of ``environment``, or None; LiveFileError if its file is damaged."""
    path = pointer_path(bot_folder, environment)
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _damaged(bot, environment, path, f"it cannot be read: {exc.strerror}") from None
    except ValueError:
        raise _damaged(bot, environment, path, "it is not JSON") from None
    version = document.get("version") if isinstance(document, dict) else None
    history = document.get("history", []) if isinstance(document, dict) else None
    if not isinstance(version, str) or not _VERSION.fullmatch(version) or not isinstance(history, list) \
            or not all(isinstance(v, str) and _VERSION.fullmatch(v) for v in history):
        raise _damaged(bot, environment, path,
                       'it is not a live-version pointer {"version": "v000001", "history": [...]}')
    return {"version": version, "history": history}


def _damaged(bot: str, environment: str, path: Path, what: str) -> LiveFileError:
    env = "" if environment == PRODUCTION else f" --env {environment}"
    where = "" if environment == PRODUCTION else f" in {environment}"
    return LiveFileError(f"{path} is damaged ({what}), so no version of {bot} is live{where}; set it again with "
                         f"`malmoi rollback --bot {bot}{env} --to VERSION` (`malmoi versions --bot {bot}` lists them)")


def write_pointer(bot_folder: Path, environment: str, version: str, history: list[str],
                  repaired: str | None = None) -> None:
    """Point ``environment`` at ``version``; the caller holds the bot's lock."""
    document: dict[str, Any] = {"version": version, "history": history[-HISTORY_KEPT:],
                                "switched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if repaired:
        document["repaired"] = repaired
    path = pointer_path(bot_folder, environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, json.dumps(document).encode("utf-8"))


def read_split(bot_folder: Path) -> dict[str, float]:
    """Environment → percent of production's traffic it answers (``malmoi split-traffic``); {} when none
    or when the file cannot be read (a damaged split sends everything to production, and is logged)."""
    try:
        document = json.loads(split_path(bot_folder).read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    shares = document.get("shares", {})
    if not isinstance(shares, dict):
        return {}
    return {str(k): float(v) for k, v in shares.items()
            if isinstance(v, (int, float)) and 0 < v <= 100 and _ENVIRONMENT.fullmatch(str(k))}
