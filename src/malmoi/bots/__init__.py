"""Many bots, versioned: a registry of immutable versions, API keys, a memory-bounded cache.

    >>> from malmoi.bots import Registry
    >>> registry = Registry("registry")                                   # doctest: +SKIP
    >>> registry.publish("models/demo", bot="weather", data="examples/demo-bot")  # doctest: +SKIP
    >>> registry.rollback("weather")                                      # doctest: +SKIP

``malmoi serve --registry DIR`` serves every bot of a registry (docs/bots.md).
"""

from __future__ import annotations

from malmoi.bots.cache import BotCache, CacheStats, model_bytes
from malmoi.bots.errors import IdenticalModelError, LiveFileError, PublishError, RegistryError
from malmoi.bots.keys import ApiKey, KeyStore
from malmoi.bots.registry import Registry, Switch, VersionInfo

__all__ = [
    "ApiKey", "BotCache", "CacheStats", "IdenticalModelError", "KeyStore", "LiveFileError", "PublishError", "Registry",
    "RegistryError", "Switch", "VersionInfo", "model_bytes",
]
