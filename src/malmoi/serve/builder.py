"""The HTTP server: one FastAPI app over a :class:`~malmoi.serve.source.BotSource`.

:func:`build_app` makes the app for one model (:class:`~malmoi.serve.source.OneBot`) and for a
registry of bots (:class:`~malmoi.serve.registry_source.RegistryBots`) alike: the middleware
(:mod:`malmoi.serve.middleware`), the JSON errors (:mod:`malmoi.serve.errors`), ``/health``,
``/docs``, and the routes of :mod:`malmoi.serve.routes`. **A new route goes here**: write a
function ``add_NAME_routes(app, source, settings)`` in ``malmoi/serve/routes/`` over the source
(its bot from ``source.bot_ref`` and ``source.get``), and call it in :func:`build_app`; a bot's
route goes under ``source.api_prefix``, so that it exists for one model (``/v1/...``) and for
every bot of a registry (``/v1/bots/{bot}/...``) at once.

Every request error is a 4xx JSON body ``{"error": {"code": ..., "message": ...}}`` that names
the problem; a 500 means a bug, is logged with its traceback, and still answers JSON.

Parsing goes through one batching thread per process (:class:`~malmoi.serve.batching.ParseBatcher`):
whatever requests are waiting when it is free are parsed in one forward pass, grouped by bot.
Endpoints are ``async``: they hand the text to the batcher and await it, so the event loop never
blocks; the conversation store's I/O runs in FastAPI's thread pool. For more throughput run one
worker process per core (``malmoi serve --workers 2``) or, for a registry, Ray Serve replicas.

:func:`create_app` and :func:`create_bots_app` are the same with keyword arguments for Python.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from malmoi._version import __version__
from malmoi.dialogue.scenarios import Scenarios
from malmoi.serve.channels import add_channel_routes
from malmoi.serve.docs_page import add_docs
from malmoi.serve.errors import install_error_handlers
from malmoi.serve.json_body import JsonRoute
from malmoi.serve.limits import DEFAULT_READ_TIMEOUT
from malmoi.serve.metrics import MetricsMiddleware, ServerMetrics
from malmoi.serve.middleware import App, install_middleware
from malmoi.serve.registry_source import RegistryBots
from malmoi.serve.routes.api import add_api_routes
from malmoi.serve.routes.kochat import add_kochat_routes
from malmoi.serve.routes.operations import add_analytics_route, add_metrics_route
from malmoi.serve.routes.page import add_bot_chat_pages, add_chat_page
from malmoi.serve.routes.registry import add_registry_routes, upload_limit
from malmoi.serve.routes.review import add_review_routes
from malmoi.serve.settings import DEFAULT_CACHE_MB, ServeSettings
from malmoi.serve.source import BotSource, OneBot

__all__ = ["build_app", "create_app", "create_bots_app", "source_for"]


def source_for(settings: ServeSettings, *, scenarios: Scenarios | None = None,
               choose_version: Callable[[str, str], Awaitable[str]] | None = None) -> BotSource:
    """The bots ``settings`` asks for: a :class:`OneBot` for ``model_dir``, :class:`RegistryBots` for ``registry``."""
    if settings.registry is not None:
        return RegistryBots(settings, choose_version=choose_version)
    return OneBot(settings, scenarios=scenarios)


def build_app(source: BotSource, settings: ServeSettings) -> FastAPI:
    """The app over ``source``, configured by ``settings``; it closes the source at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        source.close()

    app = App(title=source.title, version=__version__, description=source.description, lifespan=lifespan,
              docs_url=None,  # served by add_docs, from this server
              redoc_url=None)  # ReDoc comes only from a CDN
    app.router.route_class = JsonRoute
    app.state.source, app.state.store = source, source.store
    install_error_handlers(app)
    registry = source if isinstance(source, RegistryBots) else None
    install_middleware(app, settings, body_limit_for=upload_limit if registry is not None else None)
    metrics = None
    if settings.metrics != "off":
        # Outermost: the Host check's 400s and the body limit's 413s are counted too.
        metrics = ServerMetrics(bot=source.bot.name if isinstance(source, OneBot) else None,
                                cache=registry.cache if registry is not None else None)
        app.add_middleware(MetricsMiddleware, metrics=metrics)
        source.batcher.observe = metrics.observe_parse
    app.state.metrics = metrics

    # -- the routes: every route of the server is added here, for both kinds of source ---------
    # Added on the app itself, whose route class reads JSON bodies with malmoi's messages (an
    # included APIRouter keeps its own route class, and costs a second route match per request).
    @app.get("/health", tags=["service"], response_model=source.health_model, responses=source.health_responses)
    def health() -> Any:
        """Liveness and readiness. One model: 503 with ``"store": "unavailable"`` when the
        conversation store cannot be used (parsing still works, chatting does not)."""
        return source.health()

    add_api_routes(app, source, settings)  # at source.api_prefix: /v1, or /v1/bots/{bot}
    add_kochat_routes(app, source, settings)  # at source.kochat_prefix: /, or /v1/bots/{bot}
    add_channel_routes(app, source, settings)  # at source.kochat_prefix + /channels/NAME
    if registry is not None:
        add_registry_routes(app, registry)
    review_folder = settings.review_data or settings.review_dir
    if review_folder is not None:
        one_folder = settings.review_data is not None
        add_review_routes(app, source, lambda bot: review_folder if one_folder else review_folder / bot)
    if metrics is not None:
        add_metrics_route(app, source, settings, metrics)  # /metrics, no prefix
    add_analytics_route(app, source)
    add_docs(app, source.title)
    if registry is None:
        add_chat_page(app)
    else:
        add_bot_chat_pages(app, registry.page_bot)
    return app


def create_app(
    model_dir: str | Path,
    *,
    database_url: str | None = None,
    scenarios: Scenarios | None = None,
    log_parses: bool = True,
    allowed_hosts: Sequence[str] | None = None,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    review_data: str | Path | None = None,
) -> FastAPI:
    """The server for one trained model.

    Args:
        model_dir: a directory written by ``malmoi train`` (scenarios come from its bot.yaml).
        database_url: SQLAlchemy URL for conversation state and the message log; default
            ``sqlite:///malmoi-state.sqlite3`` in the working directory; ``postgresql://...``
            uses PostgreSQL (psycopg 3).
        scenarios: scenarios and actions declared in Python (:class:`malmoi.dialogue.Scenarios`).
        log_parses: also log ``/v1/parse`` and ``/get_intent`` messages, not only chat.
        allowed_hosts: the Host headers answered, others get 400 ``invalid_host``; default
            ``localhost``, ``127.0.0.1`` and ``::1``; ``["*"]`` answers any (behind a proxy that
            checks Host itself); ``*.example.com`` allows a domain.
        read_timeout: seconds a request body may take to arrive (408 after); ``None``: no limit.
        review_data: the bot directory the model was trained from: serves the review page
            (``/review``, :mod:`malmoi.serve.routes.review`) to this machine, which writes answers there.

    Raises:
        ModelLoadError: the model cannot be loaded, in one line.
        pydantic.ValidationError: an option is wrong (:class:`~malmoi.serve.settings.ServeSettings`).

    Example:
        >>> app = create_app("models/demo", database_url="sqlite:///state.sqlite3")  # doctest: +SKIP
        >>> # uvicorn.run(app, port=8000)
    """
    settings = ServeSettings.model_validate({
        "model_dir": model_dir, "database_url": database_url, "log_parses": log_parses, "allowed_hosts": allowed_hosts,
        "read_timeout": read_timeout, "review_data": review_data,
    })
    return build_app(OneBot(settings, scenarios=scenarios), settings)


def create_bots_app(
    registry_dir: str | Path,
    *,
    database_url: str | None = None,
    cache_bytes: int = int(DEFAULT_CACHE_MB * 2**20),
    require_keys: bool = True,
    log_parses: bool = True,
    allowed_hosts: Sequence[str] | None = None,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    review_dir: str | Path | None = None,
) -> FastAPI:
    """The server for all bots of the registry at ``registry_dir``.

    Args:
        cache_bytes: memory budget of loaded bots (least recently used are dropped beyond it).
        require_keys: answer bot routes only with an API key (``malmoi keys create``); False
            serves every bot to any client that reaches the port.
        database_url, log_parses, allowed_hosts, read_timeout: as :func:`create_app`.
        review_dir: a folder of bot directories, ``REVIEW_DIR/<bot>``: serves the review page
            (``/review/{bot}``) to admin keys, answers written there.
    """
    settings = ServeSettings.model_validate({
        "registry": registry_dir, "database_url": database_url, "cache_mb": cache_bytes / 2**20,
        "require_keys": require_keys, "log_parses": log_parses, "allowed_hosts": allowed_hosts,
        "read_timeout": read_timeout, "review_dir": review_dir,
    })
    return build_app(RegistryBots(settings), settings)
