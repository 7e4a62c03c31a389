"""Prometheus metrics of the server, at ``GET /metrics`` (``prometheus_client``'s text format).

* ``malmoi_requests_total{route, bot, status}`` and ``malmoi_request_seconds{route, bot}``: every
  request, by its route template (``/v1/bots/{bot}/parse``, not the path: the label set stays
  bounded), counted by an ASGI middleware outside all others, so 400s of the Host check and 413s
  of the body limit count too. ``bot`` is the one model's name, or the path's bot on a registry
  (empty for a request refused before the bot was known to exist: a stranger's invented names
  must not grow the label set).
* ``malmoi_parses_total{bot, intent, fallback}``: what the bots understood.
* ``malmoi_store_errors_total``: requests answered 503 because the conversation store failed.
* On a registry: ``malmoi_cache_*`` (bytes, entries, hits, loads, waits, evictions, load seconds)
  from the bot cache, read when scraped.

With ``--workers N`` every worker writes its values to files in one temporary folder per server
run (``PROMETHEUS_MULTIPROC_DIR``, made and removed by :mod:`malmoi.serve._server`), and whichever
worker answers ``/metrics`` sums them all. On Ray Serve each replica answers with its own values.

Who may read it is ``--metrics``: ``local`` (this machine; on a registry also an admin key),
``open``, or ``off``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from malmoi.bots.cache import BotCache
    from malmoi.model.result import ParseResult

__all__ = ["CONTENT_TYPE_LATEST", "MULTIPROC_ENV", "MetricsMiddleware", "ServerMetrics"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for the shared folder
# Parse latency is milliseconds; a chat with a webhook may take seconds.
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _CacheCollector(Collector):
    """The registry's bot cache, read at each scrape."""

    def __init__(self, cache: BotCache[Any]) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        stats = self.cache.stats()
        yield GaugeMetricFamily("malmoi_cache_bytes", "bytes of loaded bots held", value=stats.bytes)
        yield GaugeMetricFamily("malmoi_cache_max_bytes", "the cache's budget (--cache-mb)", value=stats.max_bytes)
        yield GaugeMetricFamily("malmoi_cache_entries", "bot versions loaded", value=stats.entries)
        yield CounterMetricFamily("malmoi_cache_hits", "requests answered by a loaded bot", value=stats.hits)
        yield CounterMetricFamily("malmoi_cache_loads", "requests that loaded their bot", value=stats.misses)
        yield CounterMetricFamily("malmoi_cache_waits", "requests that waited for another's load", value=stats.waits)
        yield CounterMetricFamily("malmoi_cache_evictions", "bots dropped to stay in budget", value=stats.evictions)
        yield CounterMetricFamily("malmoi_cache_load_seconds", "time spent loading bots", value=stats.load_seconds)


class ServerMetrics:
    """The metrics of one app; :meth:`exposition` is the body of ``GET /metrics``."""

    def __init__(self, bot: str | None = None, cache: BotCache[Any] | None = None) -> None:
        self.bot = bot  # the one model's name; None on a registry (the path names the bot)
        self.registry = CollectorRegistry()
        self.requests = Counter("malmoi_requests", "HTTP requests by route template, bot and status",
                                ["route", "bot", "status"], registry=self.registry)
        self.latency = Histogram("malmoi_request_seconds", "time to answer, by route template and bot",
                                 ["route", "bot"], buckets=_BUCKETS, registry=self.registry)
        self.parses = Counter("malmoi_parses", "parsed messages by bot, intent and fallback",
                              ["bot", "intent", "fallback"], registry=self.registry)
        self.store_errors = Counter("malmoi_store_errors", "requests answered 503: the conversation store failed",
                                    registry=self.registry)
        self._cache = _CacheCollector(cache) if cache is not None else None
        if self._cache is not None:
            self.registry.register(self._cache)

    def observe_parse(self, bot: str, result: ParseResult) -> None:
        self.parses.labels(bot, result.intent.name, "true" if result.fallback else "false").inc()

    def exposition(self) -> bytes:
        """Prometheus text: every worker's values summed when the server runs several."""
        folder = os.environ.get(MULTIPROC_ENV)
        if not folder:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
        if self._cache is not None:
            registry.register(self._cache)
        return generate_latest(registry)


class MetricsMiddleware:
    """Counts and times every request by route template, bot and status (pure ASGI: no per-request objects)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            bot = self.metrics.bot
            if bot is None:
                bot = scope.get("path_params", {}).get("bot", "") if status < 400 else ""
            self.metrics.requests.labels(template, bot, str(status)).inc()
            self.metrics.latency.labels(template, bot).observe(time.perf_counter() - started)
