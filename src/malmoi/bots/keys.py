"""API keys of a registry: one bot each, or admin; stored as SHA-256 hashes, never in clear.

A key is ``mlm_`` + 32 random bytes (URL-safe base64), shown once when it is created. The
registry keeps ``keys/<sha256 of the key>.json`` with the bot it opens (or ``"admin": true``),
so whoever reads the registry folder cannot recover a key, and checking one is a file lookup by
its hash (no comparison whose timing depends on the secret). Revoking deletes the file; the
server reads it on every request, so a revoked key stops working at once.

A key for bot A opens bot A only: parse, chat, its conversations. An admin key opens every bot
and the server's statistics. A bot's key may be scoped to one environment (``malmoi keys create
--bot A --env beta``): it opens that environment's version only (403 elsewhere, production included).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from malmoi.bots.environments import check_environment
from malmoi.bots.registry import Registry, RegistryError, check_bot_name

__all__ = ["ApiKey", "KeyStore"]

_PREFIX = "mlm_"
_KEY_FILE = re.compile(r"[0-9a-f]{64}\.json")  # matched whole (fullmatch)


@dataclass(frozen=True)
class ApiKey:
    """What a key opens: ``bot`` (None for an admin key), in ``environment`` (None: in every one)."""

    id: str  # the first 12 hex digits of its hash: names it in lists and logs, reveals nothing
    bot: str | None
    admin: bool
    created_at: str
    environment: str | None = None

    def allows(self, bot: str, environment: str | None = None) -> bool:
        """Whether the key opens ``bot`` (in ``environment``, when one is given)."""
        if self.admin:
            return True
        return self.bot == bot and (environment is None or self.environment in (None, environment))


def _key(digest: str, record: dict[str, Any]) -> ApiKey:
    environment = record.get("environment")
    return ApiKey(id=digest[:12], bot=record.get("bot"), admin=bool(record.get("admin")),
                  created_at=str(record.get("created_at", "?")),
                  environment=environment if isinstance(environment, str) else None)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    """The keys of one registry (``REGISTRY/keys/``)."""

    def __init__(self, registry: Registry):
        self.folder = registry.keys_dir

    def create(self, *, bot: str | None = None, admin: bool = False,
               environment: str | None = None) -> tuple[str, ApiKey]:
        """A new key and its record; the key itself is returned once and stored only hashed."""
        if admin == (bot is not None):
            raise RegistryError("a key is either for one bot (--bot NAME) or an admin key (--admin)")
        if bot is not None:
            check_bot_name(bot)
        if environment is not None:
            if admin:
                raise RegistryError("an admin key opens every bot in every environment; --env scopes a bot's key")
            check_environment(environment)
        key = _PREFIX + secrets.token_urlsafe(32)
        digest = _hash(key)
        record = {"bot": bot, "admin": admin, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if environment is not None:
            record["environment"] = environment
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{digest}.json"
        # O_EXCL: a key file is written once; 0600: only the registry's owner reads the records.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        return key, ApiKey(id=digest[:12], bot=bot, admin=admin, created_at=str(record["created_at"]),
                           environment=environment)

    def verify(self, key: str | None) -> ApiKey | None:
        """The key's record, or None if it is not a key of this registry (or was revoked)."""
        if not key or not key.startswith(_PREFIX) or len(key) > 200:
            return None
        digest = _hash(key)
        try:
            record = json.loads((self.folder / f"{digest}.json").read_bytes())
        except (OSError, ValueError):
            return None
        return _key(digest, record)

    def list(self) -> list[ApiKey]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.iterdir()):
            if not _KEY_FILE.fullmatch(path.name):
                continue
            try:
                record = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            found.append(_key(path.name[:64], record))
        return found

    def revoke(self, key_id: str) -> ApiKey:
        """Delete the key whose id (or hash) starts with ``key_id``; refuses an ambiguous id."""
        if not re.fullmatch(r"[0-9a-f]{6,64}", key_id or ""):
            raise RegistryError(f"{key_id!r} is not a key id: give the id that `malmoi keys list` shows")
        paths = list(self.folder.glob(f"{key_id}*.json")) if self.folder.is_dir() else []
        if len(paths) != 1:
            raise RegistryError(f"{len(paths)} keys match {key_id!r}; give the id that `malmoi keys list` shows")
        found = next(k for k in self.list() if k.id == paths[0].name[:12])
        paths[0].unlink()
        return found

    def any(self) -> bool:
        return self.folder.is_dir() and any(_KEY_FILE.fullmatch(p.name) for p in self.folder.iterdir())
