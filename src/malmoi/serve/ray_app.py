"""Every bot of a registry on Ray Serve: the many-bots server as a deployment, multiplexed by bot version.

Each replica runs the app of ``malmoi serve --registry`` itself (:func:`~malmoi.serve.bots_app.create_bots_app`,
built inside the replica by ``__serve_build_asgi_app__`` and handed to ``@serve.ingress``): the
routes, API keys, JSON errors and middleware are that module's, not copies. What Ray adds:

* **Model multiplexing** (``@serve.multiplexed``). A client that sends the header
  ``serve_multiplexed_model_id: BOT@VERSION`` is answered by that version of the bot, and Ray's
  router sends it to a replica that already has it loaded, so with many replicas a bot is loaded
  on one or a few of them rather than on all. ``serve_multiplexed_model_id: BOT`` follows the
  bot's live version (a publish or rollback applies at once, as without Ray) and still keeps the
  bot on the same replicas. Without the header the path's bot answers with its live version on
  whichever replica Ray picks.
* **Replicas**: Ray restarts a replica that dies, and routes around it meanwhile.

Ray bounds a replica's multiplexed models by their COUNT (``max_num_models_per_replica``), but a
count cannot bound memory when one bot weighs a hundred times another. So the model Ray keeps per
model id is only its name: the loaded bot lives in the replica's malmoi
:class:`~malmoi.bots.cache.BotCache`, bounded in bytes (``cache_bytes``). When either forgets a
bot, its next request loads it again; Ray's count only decides which bots a replica advertises
to the router.

Needs the ``ray`` extra: ``pip install 'malmoi[ray]'`` (docs/bots.md, "Scale-out on Ray Serve").
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    from ray import serve
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("serving on Ray Serve needs Ray: pip install 'malmoi[ray]'") from exc

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

import malmoi
from malmoi.bots.registry import PUBLISHED_FILE, Registry, RegistryError
from malmoi.serve.bots_app import DEFAULT_CACHE_BYTES, create_bots_app
from malmoi.serve.limits import DEFAULT_READ_TIMEOUT
from malmoi.serve.schema import ApiError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from ray.serve.deployment import Application

__all__ = [
    "DEFAULT_MODELS_PER_REPLICA", "MODEL_ID_HEADER", "AppArgs", "BotsDeployment", "app_builder", "bots_application",
    "run_ray", "start_local_ray",
]

MODEL_ID_HEADER = "serve_multiplexed_model_id"
APP_NAME = "malmoi"  # the Serve application `malmoi serve --ray` deploys (and removes on exit)

# Ray's count of bots a replica advertises. Memory is bounded by the BotCache behind it, so the
# count can be large: it only needs to be about as many bots as the byte budget holds.
DEFAULT_MODELS_PER_REPLICA = 4096


@serve.ingress()
class BotsDeployment:
    """One Ray Serve replica: the many-bots app over one registry, multiplexed by ``BOT@VERSION``.

    Args:
        registry_dir: the registry, at the same path on every node (a shared volume).
        app_options: keyword arguments of :func:`~malmoi.serve.bots_app.create_bots_app`.
        models_per_replica: Ray's ``max_num_models_per_replica``.
    """

    def __init__(self, registry_dir: str, app_options: dict[str, Any],
                 models_per_replica: int = DEFAULT_MODELS_PER_REPLICA) -> None:
        self._registry = Registry(registry_dir)
        self._app_options = app_options
        self._app: FastAPI | None = None

        # A plain function, not a method: the count is chosen per deployment, when Ray's decorator
        # wraps, and Ray keeps its state on the function it wraps.
        async def load_model_id(model_id: str) -> str:
            return await self._load(model_id)

        self._load_model_id = serve.multiplexed(max_num_models_per_replica=models_per_replica)(load_model_id)

    def __serve_build_asgi_app__(self) -> FastAPI:
        import torch

        # Requests run in threads; torch's own threads would only compete with them (as `malmoi serve`).
        torch.set_num_threads(1)
        self._app = create_bots_app(self._registry.root, choose_version=self._choose_version, **self._app_options)
        return self._app

    async def _choose_version(self, bot: str, live: str) -> str:
        """The version named by the request's multiplexed model id (else the live one), loaded
        through Ray's multiplexing so that Ray routes that id's next requests to this replica."""
        model_id = serve.get_multiplexed_model_id()
        named_bot, _, version = model_id.partition("@")
        if model_id and named_bot != bot:
            raise ApiError(400, "model_id_mismatch",
                           f"the header {MODEL_ID_HEADER} is {model_id!r}, which is not the path's bot {bot!r}: "
                           f"send {bot}@VERSION for one version, or {bot} for its live version")
        version = version or live
        try:
            published = (self._registry.version_dir(bot, version) / PUBLISHED_FILE).is_file()
        except RegistryError as exc:
            raise ApiError(404, "unknown_version", f"{MODEL_ID_HEADER} {model_id!r}: {exc}") from None
        if not published:
            raise ApiError(404, "unknown_version", f"the bot {bot!r} has no version {version!r} "
                           f"(header {MODEL_ID_HEADER}; `malmoi versions --bot {bot}` lists them)")
        await self._load_model_id(model_id or f"{bot}@{version}")
        return version

    async def _load(self, model_id: str) -> str:
        """Ray's multiplexed loader: loads the bot into the BotCache and gives Ray only its id."""
        assert self._app is not None, "the app is built before any request"
        bot, _, version = model_id.partition("@")
        try:
            version = version or self._registry.live_version(bot) or ""
        except RegistryError as exc:  # a damaged LIVE: as the app answers, 503
            raise ApiError(503, "bot_unavailable", f"the bot {bot!r} is unavailable: {exc}") from None
        await run_in_threadpool(self._app.state.cache.get, (bot, version))
        return model_id  # a str: what Ray keeps (and counts) costs nothing; the BotCache holds the bot


def bots_application(
    registry_dir: str | Path,
    *,
    replicas: int = 1,
    cpus_per_replica: float = 1.0,
    models_per_replica: int = DEFAULT_MODELS_PER_REPLICA,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    database_url: str | None = None,
    require_keys: bool = True,
    allowed_hosts: Sequence[str] | None = None,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
) -> Application:
    """The Ray Serve application for ``serve.run``: ``replicas`` copies of :class:`BotsDeployment`.

    ``cache_bytes`` is per replica. Every replica opens ``database_url``: with more than one node
    it must be a database they all reach (PostgreSQL), so that a user's next message may go to any
    replica. ``registry_dir`` is resolved here and must be at that path on every node.
    """
    if replicas < 1:
        raise ValueError("replicas must be at least 1")
    options: dict[str, Any] = {
        "cache_bytes": cache_bytes, "database_url": database_url, "require_keys": require_keys,
        "allowed_hosts": None if allowed_hosts is None else list(allowed_hosts), "read_timeout": read_timeout,
    }
    deployment = serve.deployment(name="malmoi-bots", num_replicas=replicas,
                                  ray_actor_options={"num_cpus": cpus_per_replica})(BotsDeployment)
    return deployment.bind(str(Path(registry_dir).resolve()), options, models_per_replica)


class AppArgs(BaseModel):
    """The ``args:`` of the application in a Ray Serve config file (see :func:`app_builder`)."""

    model_config = ConfigDict(extra="forbid")

    registry: str
    replicas: int = Field(1, ge=1)
    cpus_per_replica: float = Field(1.0, gt=0)
    models_per_replica: int = Field(DEFAULT_MODELS_PER_REPLICA, ge=1)
    cache_mb: float = Field(DEFAULT_CACHE_BYTES / 2**20, gt=0)  # per replica
    database_url: str | None = None
    require_keys: bool = True
    allowed_hosts: list[str] | None = None
    read_timeout: float | None = DEFAULT_READ_TIMEOUT


def app_builder(args: dict[str, Any]) -> Application:
    """The application for a Ray Serve config file, such as KubeRay's RayService (docs/bots.md)::

        applications:
          - name: malmoi
            import_path: malmoi.serve.ray_app:app_builder
            args: {registry: /mnt/registry, replicas: 2, cache_mb: 1024, database_url: postgresql://...}

    Raises:
        pydantic.ValidationError: an unknown key, a missing ``registry``, a value of the wrong type.
    """
    settings = AppArgs.model_validate(args)
    return bots_application(
        settings.registry, replicas=settings.replicas, cpus_per_replica=settings.cpus_per_replica,
        models_per_replica=settings.models_per_replica, cache_bytes=int(settings.cache_mb * 2**20),
        database_url=settings.database_url, require_keys=settings.require_keys,
        allowed_hosts=settings.allowed_hosts, read_timeout=settings.read_timeout,
    )


def start_local_ray(*, num_cpus: int | None = None) -> Path:
    """Start a private Ray instance on this machine: loopback address, no dashboard, no usage report.

    Private: ``address="local"`` starts a new instance even when one already runs here (plain
    ``ray.init()`` would join it, or one named by ``RAY_ADDRESS``), and its session files go to a
    fresh temporary folder (returned; remove it after ``ray.shutdown()``), not ``/tmp/ray``, where
    another instance's are.
    """
    import ray

    # Ray reports usage statistics over the internet unless told not to.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # On Linux Ray gives its processes this machine's outward address, even for `127.0.0.1`; as a
    # one-machine instance (Ray's setting for Windows and macOS) they all use the loopback address.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # the Ray processes started from here
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # this process, which imported Ray already
    # Ray's workers inherit this environment: have them import the malmoi this process imports
    # (a source checkout included), not another one installed in the environment.
    package_parent = str(Path(malmoi.__file__).resolve().parent.parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    # Requests and answers are small: Ray's shared-memory object store needs little (its default is 30 % of RAM).
    # Ray's socket paths live under the temporary folder and must stay under 108 bytes: /tmp, not $TMPDIR.
    temp_dir = Path(tempfile.mkdtemp(prefix="malmoi-ray-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        ray.init(address="local", _temp_dir=str(temp_dir), num_cpus=num_cpus, include_dashboard=False,
                 _node_ip_address="127.0.0.1", log_to_driver=False, object_store_memory=256 * 2**20)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return temp_dir


def _wait_for_stop() -> None:
    """Until Ctrl-C, or SIGTERM from a process manager."""
    stop = threading.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stop.set())
    stop.wait()


def run_ray(
    registry_dir: str | Path,
    *,
    address: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    ready_message: str | None = None,
    **options: Any,
) -> None:
    """``malmoi serve --registry DIR --ray``: deploy on Ray Serve and wait for Ctrl-C.

    Without ``address`` a private Ray instance is started (:func:`start_local_ray`, never one that
    already runs here) and stopped on exit. With it, this joins that cluster (``ray://...`` or
    ``auto``) and on exit removes only its own Serve application, ``malmoi``: the cluster, its
    Serve instance and other applications are left as they were. ``options`` go to
    :func:`bots_application`.
    """
    import ray

    temp_dir = None
    if address is None:
        temp_dir = start_local_ray()
    else:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=address, log_to_driver=False)
    try:
        serve.start(http_options={"host": host, "port": port})
        serve.run(bots_application(registry_dir, **options), name=APP_NAME, route_prefix="/")
        if ready_message:
            print(ready_message, file=sys.stderr, flush=True)
        _wait_for_stop()
    finally:
        if address is None:
            serve.shutdown()  # the Serve instance of our own Ray
        else:
            serve.delete(APP_NAME)  # ours only: the cluster's Serve and its other applications stay
        ray.shutdown()  # stops our own Ray; from a cluster, only disconnects
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
