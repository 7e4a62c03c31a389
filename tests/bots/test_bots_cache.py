"""The bot cache: a budget in bytes, least recently used out first, one load per bot."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from malmoi.bots import BotCache


def test_cache_keeps_within_its_bytes_and_evicts_least_recently_used() -> None:
    closed: list[str] = []
    cache: BotCache[str] = BotCache(load=lambda k: str(k), size=lambda v: 10 * len(v), max_bytes=100,
                                    on_evict=closed.append)
    for key in ["aaa", "bbb", "ccc"]:  # 30 bytes each
        cache.get(key)
    cache.get("aaa")  # now bbb is the least recently used
    cache.get("dddd")  # 40 bytes: 130 > 100, so bbb leaves
    assert set(cache.keys()) == {"aaa", "ccc", "dddd"} and closed == ["bbb"]
    stats = cache.stats()
    assert stats.bytes == 100 <= stats.max_bytes and stats.evictions == 1
    assert (stats.hits, stats.misses) == (1, 4)


def test_value_larger_than_the_budget_is_served_but_not_kept() -> None:
    cache: BotCache[str] = BotCache(load=lambda k: str(k), size=len, max_bytes=3)
    assert cache.get("abcdef") == "abcdef"
    assert cache.keys() == [] and cache.stats().bytes == 0


def test_concurrent_first_requests_load_once() -> None:
    loads: Counter[str] = Counter()

    def slow_load(key: object) -> str:
        loads[str(key)] += 1
        time.sleep(0.2)
        return str(key)

    cache: BotCache[str] = BotCache(load=slow_load, size=len, max_bytes=1000)
    barrier = threading.Barrier(16)
    results: list[str] = []

    def request(key: str) -> None:
        barrier.wait()
        results.append(cache.get(key))

    threads = [threading.Thread(target=request, args=("a" if i % 2 else "b",)) for i in range(16)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == {"a": 1, "b": 1}
    assert sorted(results) == ["a"] * 8 + ["b"] * 8
    assert time.perf_counter() - started < 0.35  # a and b loaded side by side, not one after the other
    assert cache.stats().waits + cache.stats().hits == 14


def test_failed_load_is_not_cached_and_can_be_retried() -> None:
    attempts = Counter[str]()

    def flaky(key: object) -> str:
        attempts[str(key)] += 1
        if attempts[str(key)] == 1:
            raise OSError("disk hiccup")
        return str(key)

    cache: BotCache[str] = BotCache(load=flaky, size=len, max_bytes=100)
    with pytest.raises(OSError):
        cache.get("x")
    assert cache.get("x") == "x" and attempts["x"] == 2
