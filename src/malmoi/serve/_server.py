"""Running the server: checks before start, worker processes, the app factory they call.

Kept apart from :mod:`malmoi.serve.app` so that the supervising process of ``malmoi serve
--workers N`` never imports torch or holds a model: only its workers do. Before it binds the
port it has the model loaded once in a short-lived child process (:func:`check_model_loads`):
a model that cannot load must stop the command with one line, not leave a supervisor holding
the port while its workers crash and restart forever. With one worker the app is made in the
command's own process before the port is bound, and uvicorn is handed that app.
"""

from __future__ import annotations

import inspect
import json
import logging
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from malmoi.dialogue.scenarios import Scenarios

# From malmoi.serve.limits, not malmoi.serve.app, which imports torch: the command and uvicorn's
# supervisor don't.
from malmoi.serve.limits import DEFAULT_ALLOWED_HOSTS, DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_READ_TIMEOUT

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "DEFAULT_ALLOWED_HOSTS", "DEFAULT_READ_TIMEOUT", "app_from_env", "check_model", "check_model_loads",
    "default_allowed_hosts", "load_scenarios", "run", "run_bots",
]

logger = logging.getLogger("malmoi.serve")

# How `malmoi serve` tells its worker processes what to load (uvicorn starts them by import string).
_ENV_MODEL = "MALMOI_SERVE_MODEL_DIR"
_ENV_DATABASE = "MALMOI_SERVE_DATABASE_URL"
_ENV_SCENARIOS = "MALMOI_SERVE_SCENARIOS"
_ENV_ALLOWED_HOSTS = "MALMOI_SERVE_ALLOWED_HOSTS"  # a JSON list
_ENV_READ_TIMEOUT = "MALMOI_SERVE_READ_TIMEOUT"  # also read by malmoi.serve._protocol
_ENV_REVIEW_DATA = "MALMOI_SERVE_REVIEW_DATA"
_ENV_FORWARDED_ALLOW_IPS = "MALMOI_SERVE_FORWARDED_ALLOW_IPS"


def load_scenarios(spec: str | None) -> Scenarios | None:
    """Import ``module`` or ``module:attribute`` holding a :class:`Scenarios` (``--scenarios``)."""
    if not spec:
        return None
    import importlib

    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    if attribute:
        found = getattr(module, attribute)
    else:
        candidates = [v for v in vars(module).values() if isinstance(v, Scenarios)]
        if len(candidates) != 1:
            raise ValueError(
                f"{module_name} has {len(candidates)} Scenarios objects; name one as {module_name}:NAME"
            )
        found = candidates[0]
    if not isinstance(found, Scenarios):
        raise ValueError(f"{spec} is a {type(found).__name__}, not a malmoi.dialogue.Scenarios")
    return found


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and for each worker of ``malmoi serve``."""
    import torch

    from malmoi.serve.app import create_app
    from malmoi.serve.proxies import trust_proxies

    # Requests run in parallel threads and processes; torch's own threads would only compete.
    torch.set_num_threads(1)
    hosts = os.environ.get(_ENV_ALLOWED_HOSTS)
    timeout = float(os.environ.get(_ENV_READ_TIMEOUT) or 0)
    app = create_app(
        os.environ[_ENV_MODEL],
        database_url=os.environ.get(_ENV_DATABASE) or None,
        scenarios=load_scenarios(os.environ.get(_ENV_SCENARIOS)),
        allowed_hosts=json.loads(hosts) if hosts else None,
        read_timeout=timeout if timeout > 0 else None,
        review_data=os.environ.get(_ENV_REVIEW_DATA) or None,
    )
    trust_proxies(app, os.environ.get(_ENV_FORWARDED_ALLOW_IPS))
    return app


def default_allowed_hosts(host: str) -> list[str]:
    """The Host headers answered by default: this machine's loopback names and ``--host``."""
    return list(dict.fromkeys([*DEFAULT_ALLOWED_HOSTS, host]))


def _try_load(model_dir: str) -> str | None:
    """In a child process: load the model as a worker would; the problem in one line, or None."""
    from malmoi.errors import ModelLoadError
    from malmoi.serve.app import load_model

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


def _header_deadline() -> dict[str, Any]:
    """uvicorn's ``http`` option for the protocol that closes connections whose headers stall
    (its deadline comes from the environment), or nothing, with a warning, without httptools."""
    try:
        import malmoi.serve._protocol  # noqa: F401  (needs httptools: uvicorn[standard])
    except ImportError as exc:
        logger.warning("no deadline for request headers (%s): pip install 'malmoi[serve]'", exc)
        return {}
    return {"http": "malmoi.serve._protocol:HttpToolsWithHeaderTimeout"}


def run(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    database_url: str | None = None,
    workers: int = 1,
    scenarios: str | None = None,
    access_log: bool = False,
    allowed_hosts: Sequence[str] | None = None,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT,
    ready_message: str | None = None,
    review_data: str | Path | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve a model with uvicorn until interrupted (``malmoi serve``).

    The model is loaded before the port is bound: a model that cannot load raises
    :class:`~malmoi.errors.ModelLoadError` (one line) and nothing listens.

    Args:
        allowed_hosts: Host headers answered (``--allowed-host``); default
            :func:`default_allowed_hosts` of ``host``; ``["*"]`` for any.
        read_timeout: seconds for a request's headers, and again for its body, to arrive; a
            connection that stalls is closed (408 for a body). ``None``: no limit.
        keep_alive_timeout: seconds an idle keep-alive connection is kept open.
        ready_message: printed to standard error once the model has loaded, before uvicorn starts.
        forwarded_allow_ips: proxies whose ``X-Forwarded-For`` names the client (uvicorn's
            ``--forwarded-allow-ips``: addresses or networks, comma-separated); by default no
            proxy header is trusted (:mod:`malmoi.serve.proxies`).
    """
    import uvicorn

    os.environ[_ENV_MODEL] = str(model_dir)
    if database_url:
        os.environ[_ENV_DATABASE] = database_url
    if scenarios:
        os.environ[_ENV_SCENARIOS] = scenarios
    hosts = default_allowed_hosts(host) if allowed_hosts is None else list(allowed_hosts)
    os.environ[_ENV_ALLOWED_HOSTS] = json.dumps(hosts)
    os.environ[_ENV_READ_TIMEOUT] = str(read_timeout or 0)
    if review_data:
        os.environ[_ENV_REVIEW_DATA] = str(review_data)
    if forwarded_allow_ips:
        os.environ[_ENV_FORWARDED_ALLOW_IPS] = forwarded_allow_ips
    options: dict[str, Any] = {}
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
        # A worker answers the supervisor's pings only once torch and the model are loaded,
        # which can take longer than uvicorn's 5 s on a busy machine; it would be killed.
        options["timeout_worker_healthcheck"] = 120
    options.update(_header_deadline())
    if workers == 1:
        app: Any = app_from_env()  # in this process, before the port is bound; ModelLoadError if not
    else:
        check_model_loads(model_dir)
        app, options["factory"] = "malmoi.serve._server:app_from_env", True
    if ready_message:
        print(ready_message, file=sys.stderr, flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level="info",
        timeout_keep_alive=keep_alive_timeout,
        proxy_headers=False,  # the app reads them, from listed proxies only (malmoi.serve.proxies)
        **options,
    )


def run_bots(
    registry_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    database_url: str | None = None,
    cache_bytes: int,
    require_keys: bool = True,
    access_log: bool = False,
    allowed_hosts: Sequence[str] | None = None,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT,
    ready_message: str | None = None,
    review_dir: str | Path | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve every bot of a registry (``malmoi serve --registry DIR``) in this process."""
    import torch
    import uvicorn

    from malmoi.serve.bots_app import create_bots_app
    from malmoi.serve.proxies import trust_proxies

    torch.set_num_threads(1)
    hosts = default_allowed_hosts(host) if allowed_hosts is None else list(allowed_hosts)
    app = create_bots_app(registry_dir, database_url=database_url, cache_bytes=cache_bytes,
                          require_keys=require_keys, allowed_hosts=hosts, read_timeout=read_timeout,
                          review_dir=review_dir)
    trust_proxies(app, forwarded_allow_ips)
    os.environ[_ENV_READ_TIMEOUT] = str(read_timeout or 0)
    options = _header_deadline()
    if ready_message:
        print(ready_message, file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info",
                timeout_keep_alive=keep_alive_timeout, proxy_headers=False, **options)
