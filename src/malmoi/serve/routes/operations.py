"""The server's pages for its operators: ``GET /metrics`` (Prometheus text).

Not a bot's route: one place for the whole server, with no prefix. Who may read it is the
source's :meth:`~malmoi.serve.source.BotSource.operator` rule (this machine, or an admin key on a
registry), or anyone with ``--metrics open``.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from malmoi.serve.metrics import CONTENT_TYPE_LATEST, ServerMetrics
from malmoi.serve.schema import ERROR_RESPONSES
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import BotSource

__all__ = ["add_metrics_route"]


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
