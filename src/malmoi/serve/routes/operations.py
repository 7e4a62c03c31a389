"""The server's pages for its operators: ``GET /metrics`` (Prometheus text) and ``GET /analytics``
(what users asked, :mod:`malmoi.dialogue.analytics`, as the offline page of ``malmoi stats --html``).

Not a bot's route: one place for the whole server, with no prefix. Who may read it is the
source's :meth:`~malmoi.serve.source.BotSource.operator` rule (this machine, or an admin key on a
registry), or anyone with ``--metrics open``.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from malmoi.report._html import CSP
from malmoi.serve.metrics import CONTENT_TYPE_LATEST, ServerMetrics
from malmoi.serve.schema import ERROR_RESPONSES, ApiError
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotSource

__all__ = ["add_analytics_route", "add_metrics_route"]


def add_metrics_route(app: FastAPI, source: BotSource, settings: ServeSettings, metrics: ServerMetrics) -> None:
    open_to_all = settings.metrics == "open"
    refused: dict[int | str, dict[str, Any]] = {status: ERROR_RESPONSES[422] | {"description": why}
               for status, why in ((401, "an API key is needed (a registry, from elsewhere)"),
                                   (403, "not this machine, and no admin key"))}

    @app.get("/metrics", tags=["operations"], responses=refused,
             response_class=Response, response_description="Prometheus text format")
    async def prometheus(request: Request) -> Response:
        """Prometheus metrics: requests by route, bot and status, latency, parse outcomes by bot,
        the bot cache (a registry), store errors."""
        if not open_to_all:
            source.operator(request)
        body = await run_in_threadpool(metrics.exposition)  # reads files with --workers
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def add_analytics_route(app: FastAPI, source: BotSource) -> None:
    """``GET /analytics?bot=B&since=7d``: this machine, or an admin key on a registry."""

    # response_class=Response, as /metrics: an HTMLResponse class would document the JSON errors as HTML.
    @app.get("/analytics", tags=["operations"], response_class=Response,
             response_description="an HTML page (text/html)", responses={
        status: ERROR_RESPONSES[422] | {"description": why}
        for status, why in ((401, "an API key is needed (a registry, from elsewhere)"),
                            (403, "not this machine, and no admin key"),
                            (422, "`since` is not an age like 7d, 24h or 30d"),
                            (503, "the message log cannot be read"))})
    async def analytics(request: Request, bot: str | None = None, since: str = "30d") -> Response:
        """What users asked (the message log): messages, users, intents, fallback and low-confidence
        rates, top out-of-domain messages, slot-filling completion, by day; an HTML page with charts."""
        source.operator(request)
        from malmoi.dialogue.analytics import log_stats, parse_age
        from malmoi.report.analytics import render_analytics

        try:
            age = parse_age(since)
        except ValueError as exc:
            raise ApiError(422, "invalid_since", str(exc), "since") from None
        stats = await run_in_threadpool(log_stats, source.store, bot=bot, since=age)
        page = await run_in_threadpool(render_analytics, stats)
        # Its own policy: the page's scripts and styles are inline (the server's default forbids that).
        return HTMLResponse(page, headers={"Content-Security-Policy": CSP})
