"""Many bots, versioned: a registry of immutable versions, API keys, a memory-bounded cache.

    >>> from malmoi.bots import Registry
    >>> registry = Registry("registry")                                   # doctest: +SKIP
    >>> registry.publish("models/demo", bot="weather", data="examples/demo-bot")  # doctest: +SKIP
    >>> registry.rollback("weather")                                      # doctest: +SKIP

``malmoi serve --registry DIR`` serves every bot of a registry (docs/bots.md).
"""

from __future__ import annotations

from malmoi.bots.cache import BotCache, CacheStats, model_bytes
from malmoi.bots.keys import ApiKey, KeyStore
from malmoi.bots.registry import PublishError, Registry, RegistryError, VersionInfo

__all__ = [
    "ApiKey", "BotCache", "CacheStats", "KeyStore", "PublishError", "Registry", "RegistryError", "VersionInfo",
    "model_bytes",
]
