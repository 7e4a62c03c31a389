"""Loaded bots kept within a memory budget: least recently used out first, each loaded once.

The budget is in bytes, not a count of bots: a bot with 150 intents and a lexical table can
weigh a hundred times a small one. Each entry is charged :func:`model_bytes` (its own arrays,
plus an allowance for the Python objects its description becomes); encoders shared between bots
and the Korean analyser are held once per process and are not charged to any bot.

Concurrent first requests for one bot wait on that bot's own lock while one of them loads it, so
a bot is read from disk once however many requests arrive together, and loading one bot never
holds up requests for the others (single-flight, as in Go's ``singleflight``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["BotCache", "CacheStats", "model_bytes"]

T = TypeVar("T")

# Python objects per loaded model beyond its arrays (parsed settings, label lists, the training
# report, the scorer and tagger objects): measured with tracemalloc at about 3 times the size of
# model.json plus a few kB (bench/many_bots.py reports the resident memory it really takes).
_JSON_FACTOR = 4
_FIXED_BYTES = 16 * 1024


def model_bytes(model: Any, model_dir: str | Path) -> int:
    """What one loaded bot is charged in the cache: its own arrays and an allowance for the rest."""
    try:
        description = (Path(model_dir) / "model.json").stat().st_size
    except OSError:
        description = 0
    return int(model.nbytes) + _JSON_FACTOR * description + _FIXED_BYTES


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0  # requests that loaded the bot
    waits: int = 0  # requests that waited for another request's load of the same bot
    evictions: int = 0
    bytes: int = 0
    entries: int = 0
    max_bytes: int = 0
    load_seconds: float = 0.0
    load_ms_p50: float = 0.0  # over the last 10,000 loads
    load_ms_p99: float = 0.0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses + self.waits
        return self.hits / total if total else 0.0


class BotCache(Generic[T]):
    """``get(key)`` returns the cached value or loads it with ``load(key)``, within ``max_bytes``.

    Args:
        load: makes the value of a key (a loaded bot); runs outside the cache's lock.
        size: bytes a value is charged.
        max_bytes: the budget. A value larger than the whole budget is returned but not kept.
        on_evict: called with each value that leaves the cache (to close its resources).

    >>> cache = BotCache(load=lambda key: key * 2, size=len, max_bytes=4)
    >>> cache.get("ab"), cache.get("cd"), cache.get("ab")
    ('abab', 'cdcd', 'abab')
    >>> cache.stats().evictions
    1
    """

    def __init__(
        self,
        *,
        load: Callable[[Hashable], T],
        size: Callable[[T], int],
        max_bytes: int,
        on_evict: Callable[[T], None] | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self._load, self._size, self.max_bytes, self._on_evict = load, size, max_bytes, on_evict
        self._entries: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._loading: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._bytes = 0
        self._stats = CacheStats(max_bytes=max_bytes)
        self._load_ms: deque[float] = deque(maxlen=10_000)

    def get_cached(self, key: Hashable) -> T | None:
        """The value if it is cached (a hit), else None without loading it."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            self._stats.hits += 1
            return entry[0]

    def get(self, key: Hashable) -> T:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self._stats.hits += 1
                return entry[0]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:  # loaded by the request we waited for
                    self._entries.move_to_end(key)
                    self._stats.waits += 1
                    return entry[0]
            started = time.perf_counter()
            try:
                value = self._load(key)
            except BaseException:
                with self._lock:
                    self._loading.pop(key, None)
                raise
            cost = int(self._size(value))
            evicted = []
            with self._lock:
                self._stats.misses += 1
                self._stats.load_seconds += time.perf_counter() - started
                self._load_ms.append(1000 * (time.perf_counter() - started))
                self._loading.pop(key, None)
                if cost <= self.max_bytes:
                    self._entries[key] = (value, cost)
                    self._bytes += cost
                    while self._bytes > self.max_bytes:
                        _, (old, old_cost) = self._entries.popitem(last=False)
                        self._bytes -= old_cost
                        self._stats.evictions += 1
                        evicted.append(old)
        for old in evicted:
            self._closed(old)
        return value

    def discard(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key matches (a bot's older versions after a switch)."""
        with self._lock:
            keys = [k for k in self._entries if predicate(k)]
            dropped = [self._entries.pop(k) for k in keys]
            self._bytes -= sum(cost for _, cost in dropped)
        for value, _ in dropped:
            self._closed(value)
        return len(dropped)

    def _closed(self, value: T) -> None:
        if self._on_evict is not None:
            self._on_evict(value)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._entries)

    def stats(self) -> CacheStats:
        with self._lock:
            loads = sorted(self._load_ms)
            stats = CacheStats(**{**self._stats.__dict__, "bytes": self._bytes, "entries": len(self._entries)})
        if loads:
            stats.load_ms_p50 = loads[len(loads) // 2]
            stats.load_ms_p99 = loads[min(len(loads) - 1, int(0.99 * len(loads)))]
        return stats

    def clear(self) -> None:
        self.discard(lambda _: True)
