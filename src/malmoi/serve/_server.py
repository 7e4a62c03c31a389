"""Running the server from its :class:`~malmoi.serve.settings.ServeSettings`: checks before start,
worker processes, the app factory they call.

Kept apart from :mod:`malmoi.serve.builder` so that the supervising process of ``malmoi serve
--workers N`` never imports torch or holds a model: only its workers do. :func:`check` does the
cheap checks and says what will be served; :func:`run` then loads and listens. Before it binds
the port the model is loaded once: with one worker the app is made in this process and uvicorn
is handed that app; with more, in a short-lived child process (:func:`check_model_loads`), since
a model that cannot load must stop the command with one line, not leave a supervisor holding the
port while its workers crash and restart forever. The workers, started by uvicorn from an import
string, read the settings from one environment variable (:meth:`ServeSettings.to_environment`).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from malmoi.serve.settings import ServeSettings, default_allowed_hosts, load_scenarios

if TYPE_CHECKING:
    from fastapi import FastAPI

    from malmoi.dialogue.scenarios import Scenarios

__all__ = ["StartError", "app_from_env", "check", "check_model", "check_model_loads", "load_scenarios", "run"]

logger = logging.getLogger("malmoi.serve")


class StartError(Exception):
    """The server cannot start as asked: one line that says why and what to do."""


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and for each worker of ``malmoi serve``."""
    import torch

    from malmoi.serve.builder import build_app, source_for

    # Requests run in parallel threads and processes; torch's own threads would only compete.
    torch.set_num_threads(1)
    settings = ServeSettings.from_environment()
    return build_app(source_for(settings), settings)


def _try_load(model_dir: str) -> str | None:
    """In a child process: load the model as a worker would; the problem in one line, or None."""
    from malmoi.errors import ModelLoadError
    from malmoi.serve.source import load_model

    try:
        load_model(model_dir)
    except ModelLoadError as exc:
        return str(exc)
    return None


def check_model_loads(model_dir: str | Path) -> None:
    """Load the model once in a child process; raise ModelLoadError, in one line, if it cannot.

    A child, so that this process (uvicorn's supervisor of the workers) never holds torch and
    the model in memory as well as every worker.
    """
    from malmoi.errors import ModelLoadError

    # spawn, as uvicorn starts its workers: a fork of a process with threads can deadlock.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            problem = pool.submit(_try_load, str(model_dir)).result()
        except BrokenProcessPool:
            problem = f"loading the model {model_dir} crashed the process; it is damaged: retrain it"
    if problem:
        raise ModelLoadError(problem)


def check_model(model_dir: str | Path, scenarios: Scenarios | None, database_url: str | None) -> str:
    """Cheap checks before starting workers, so that mistakes read as one message: the bot name."""
    from malmoi.dialogue.scenarios import resolve_scenarios, resolve_webhooks
    from malmoi.dialogue.store import StateStore
    from malmoi.errors import ModelLoadError
    from malmoi.labels import tag_types
    from malmoi.settings import STORED, BotConfig

    meta_path = Path(model_dir) / "model.json"
    if not meta_path.is_file():
        raise ModelLoadError(
            f"{model_dir} is not a malmoi model: expected model.json in it. "
            f"Train one with `malmoi train BOT_DIR --out {model_dir}`."
        )
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        config = BotConfig.model_validate(meta["config"], context=STORED)
        tags: Sequence[str] = meta["tags"]
        intents: Sequence[str] = meta["intents"]
    except Exception as exc:
        raise ModelLoadError(f"{meta_path} cannot be read ({exc}); retrain the model.") from exc
    # A webhook's ${NAME} references must be set now, not discovered at a user's first message.
    resolve_webhooks(resolve_scenarios(config, intents, tag_types(tags), scenarios).values(), os.environ)
    StateStore(database_url).close()  # creates the tables once, before workers race to
    return config.name


def check(settings: ServeSettings) -> str:
    """What can be checked before anything loads or listens; the line to print once it is ready.

    Raises:
        StartError: the server cannot start as asked (a missing extra, bad scenarios, an empty
            registry or one without keys), in one line.
        ModelLoadError: the model folder is not a model, in one line.
        sqlalchemy.exc.SQLAlchemyError: the database cannot be used.
    """
    needed = ("ray", "malmoi[ray]") if settings.ray else ("fastapi", "malmoi[serve]")
    for module, extra in (needed, ("uvicorn", "malmoi[serve]")):
        if importlib.util.find_spec(module) is None:
            raise StartError(f"this server needs {module}, which is not installed: pip install '{extra}'")
    if settings.registry is not None:
        return _check_registry(settings)
    assert settings.model_dir is not None
    from malmoi.dialogue.scenarios import ScenarioError

    try:
        bot = check_model(settings.model_dir, load_scenarios(settings.scenarios), settings.database_url)
    except ScenarioError as exc:
        raise StartError(f"{settings.model_dir}: {exc}") from exc
    except (ImportError, ValueError) as exc:  # the --scenarios module
        raise StartError(str(exc)) from exc
    ready = (f"Serving '{bot}' on http://{settings.shown_host}:{settings.port}/ (API docs: /docs). Ctrl-C stops "
             "it. No API keys: any client that reaches the port can use the bot and its conversations.")
    if settings.host in ("0.0.0.0", "::") and settings.allowed_hosts == default_allowed_hosts(settings.host):
        ready += (" Listening on every interface, but only requests addressed to localhost are answered: "
                  "add --allowed-host NAME for each name or address that clients use.")
    return ready


def offered(settings: ServeSettings) -> str:
    """The line that names every page and route the server offers (tests/serve check it against the app)."""
    one = settings.registry is None
    bot = "/v1" if one else "/v1/bots/{bot}"
    root = "" if one else "/v1/bots/{bot}"
    pages = ["/ (chat)" if one else "/bots/{bot}/ (chat)", "/docs"]
    if settings.metrics != "off":
        pages.append("/metrics")
    pages.append("/analytics")
    if settings.review_data is not None or settings.review_dir is not None:
        pages.append("/review" if one else "/review/{bot}")
    routes = [f"POST {bot}/parse", f"POST {bot}/chat", f"GET|DELETE {bot}/conversations/{{user}}",
              f"GET {root}/request_chat|fill_slot/{{uid}}/{{text}}", f"GET {root}/get_intent|get_entity/{{text}}",
              f"POST {root}/channels/kakao|line|slack|telegram", "GET /health"]
    if not one:
        routes[:0] = ["GET /v1/bots", "GET /v1/bots/{bot}", "GET|POST /v1/bots/{bot}/versions",
                      "PUT /v1/bots/{bot}/live", "POST /v1/bots/{bot}/rollback", "GET /v1/stats"]
    return f"Pages: {', '.join(pages)}. Routes: {', '.join(routes)}."


def _check_registry(settings: ServeSettings) -> str:
    from malmoi.bots import KeyStore, Registry, RegistryError

    assert settings.registry is not None
    try:
        registry = Registry(settings.registry)
        bots = registry.bots()
        has_keys = KeyStore(registry).any()
    except RegistryError as exc:
        raise StartError(str(exc)) from exc
    if not bots:
        raise StartError(f"{settings.registry} has no published bots; publish one with "
                         f"`malmoi publish MODEL_DIR --bot NAME --registry {settings.registry}`")
    if settings.require_keys and not has_keys:
        raise StartError(f"{settings.registry} has no API keys: create one with `malmoi keys create --bot NAME "
                         f"--registry {settings.registry}`, or serve without keys with --no-keys")
    access = ("API keys required (Authorization: Bearer <key>)" if settings.require_keys else
              "no API keys (--no-keys): any client that reaches the port can use every bot")
    ready = (f"Serving {len(bots)} bots of {settings.registry} on http://{settings.shown_host}:{settings.port}"
             f"/v1/bots/{{bot}}/parse and /chat; {access}; cache {settings.cache_mb:g} MB. Ctrl-C stops it.")
    if settings.ray:
        where = (f"the Ray cluster at {settings.ray_address}" if settings.ray_address
                 else "a Ray instance started on this machine")
        ready += f" On Ray Serve: {settings.replicas} replica(s) on {where}; the cache is per replica."
    return ready


def _header_deadline() -> dict[str, Any]:
    """uvicorn's ``http`` option for the protocol that closes connections whose headers stall
    (its deadline comes from the settings in the environment), or nothing, with a warning,
    without httptools."""
    try:
        import malmoi.serve._protocol  # noqa: F401  (needs httptools: uvicorn[standard])
    except ImportError as exc:
        logger.warning("no deadline for request headers (%s): pip install 'malmoi[serve]'", exc)
        return {}
    return {"http": "malmoi.serve._protocol:HttpToolsWithHeaderTimeout"}


def run(settings: ServeSettings) -> None:
    """Serve until interrupted (``malmoi serve``): one model, a registry, or a registry on Ray Serve.

    :func:`check` first (:class:`StartError`, in one line, if the server cannot start as asked);
    then the model (or the registry's shared parts) is loaded before the port is bound: a model
    that cannot load raises :class:`~malmoi.errors.ModelLoadError` (one line) and nothing
    listens. Once loaded, :func:`check`'s line is printed to standard error.
    """
    ready = check(settings) + "\n" + offered(settings)
    if settings.ray:
        from malmoi.serve.ray_app import run_ray

        run_ray(settings, ready_message=ready)
        return
    _run_uvicorn(settings, ready)


def _run_uvicorn(settings: ServeSettings, ready_message: str) -> None:
    import uvicorn

    settings.to_environment()  # for the workers, and for the header deadline of the protocol
    options: dict[str, Any] = {}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
        # A worker answers the supervisor's pings only once torch and the model are loaded,
        # which can take longer than uvicorn's 5 s on a busy machine; it would be killed.
        options["timeout_worker_healthcheck"] = 120
    options.update(_header_deadline())
    if settings.workers == 1:
        app: Any = app_from_env()  # in this process, before the port is bound; ModelLoadError if not
    else:
        assert settings.model_dir is not None, "a registry is served by one process"
        check_model_loads(settings.model_dir)
        app, options["factory"] = "malmoi.serve._server:app_from_env", True
    # Each worker's metrics go to files in one folder of this run, summed by whichever answers
    # /metrics (prometheus_client's multiprocess mode; malmoi.serve.metrics).
    metrics_dir = tempfile.mkdtemp(prefix="malmoi-metrics-") if settings.workers > 1 else None
    if metrics_dir is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    print(ready_message, file=sys.stderr, flush=True)
    try:
        _uvicorn_run(app, settings, options)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _uvicorn_run(app: Any, settings: ServeSettings, options: dict[str, Any]) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=settings.access_log,
        log_level="info",
        timeout_keep_alive=settings.keep_alive_timeout,
        proxy_headers=False,  # the app reads them, from listed proxies only (malmoi.serve.proxies)
        **options,
    )
