"""Every bot of a registry on Ray Serve: the many-bots server as a deployment, multiplexed by bot version.

Each replica runs the app of ``malmoi serve --registry`` itself (:func:`~malmoi.serve.builder.build_app`
over :class:`~malmoi.serve.registry_source.RegistryBots`, built inside the replica by
``__serve_build_asgi_app__`` and handed to ``@serve.ingress``) from the same
:class:`~malmoi.serve.settings.ServeSettings`: the routes, API keys, JSON errors and middleware
are the server's, not copies. What Ray adds:

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    from ray import serve
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("serving on Ray Serve needs Ray: pip install 'malmoi[ray]'") from exc

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

import malmoi
from malmoi.bots.registry import PUBLISHED_FILE, Registry, RegistryError
from malmoi.serve.builder import build_app
from malmoi.serve.registry_source import RegistryBots
from malmoi.serve.schema import ApiError
from malmoi.serve.settings import ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from ray.serve.deployment import Application

__all__ = [
    "CONFIG_FILE_KEYS", "MODEL_ID_HEADER", "BotsDeployment", "app_builder", "bots_application", "run_ray",
    "start_local_ray",
]

MODEL_ID_HEADER = "serve_multiplexed_model_id"
APP_NAME = "malmoi"  # the Serve application `malmoi serve --ray` deploys (and removes on exit)
# The settings a Ray Serve config file may give (``args:``, :func:`app_builder`); Ray's proxy
# decides the address and the connections.
CONFIG_FILE_KEYS = (
    "registry", "replicas", "cpus_per_replica", "models_per_replica", "cache_mb", "database_url", "require_keys",
    "allowed_hosts", "read_timeout", "log_parses", "channel_deadline", "metrics",
    "line_api", "slack_api", "telegram_api",
)


@serve.ingress()
class BotsDeployment:
    """One Ray Serve replica: the many-bots app over one registry, multiplexed by ``BOT@VERSION``.

    Args:
        settings: ``registry`` (at the same path on every node: a shared volume), the cache, keys
            and store of each replica, and ``models_per_replica``, Ray's ``max_num_models_per_replica``.
    """

    def __init__(self, settings: ServeSettings) -> None:
        assert settings.registry is not None
        self._settings = settings
        self._registry = Registry(settings.registry)
        self._source: RegistryBots | None = None

        # A plain function, not a method: the count is chosen per deployment, when Ray's decorator
        # wraps, and Ray keeps its state on the function it wraps.
        async def load_model_id(model_id: str) -> str:
            return await self._load(model_id)

        self._load_model_id = serve.multiplexed(max_num_models_per_replica=settings.models_per_replica)(load_model_id)

    def __serve_build_asgi_app__(self) -> FastAPI:
        import torch

        # Requests run in threads; torch's own threads would only compete with them (as `malmoi serve`).
        torch.set_num_threads(1)
        self._source = RegistryBots(self._settings, choose_version=self._choose_version)
        return build_app(self._source, self._settings)

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
        assert self._source is not None, "the app is built before any request"
        bot, _, version = model_id.partition("@")
        try:
            version = version or self._registry.live_version(bot) or ""
        except RegistryError as exc:  # a damaged LIVE: as the app answers, 503
            raise ApiError(503, "bot_unavailable", f"the bot {bot!r} is unavailable: {exc}") from None
        await run_in_threadpool(self._source.cache.get, (bot, version))
        return model_id  # a str: what Ray keeps (and counts) costs nothing; the BotCache holds the bot


def bots_application(settings: ServeSettings) -> Application:
    """The Ray Serve application for ``serve.run``: ``settings.replicas`` copies of :class:`BotsDeployment`.

    ``cache_mb`` is per replica. Every replica opens ``database_url``: with more than one node
    it must be a database they all reach (PostgreSQL), so that a user's next message may go to any
    replica. ``registry`` is resolved here and must be at that path on every node.
    """
    if settings.registry is None or not settings.ray:
        raise ValueError("bots_application serves a registry on Ray: ServeSettings(registry=DIR, ray=True, ...)")
    settings = settings.model_copy(update={"registry": settings.registry.resolve()})
    deployment = serve.deployment(name="malmoi-bots", num_replicas=settings.replicas,
                                  ray_actor_options={"num_cpus": settings.cpus_per_replica})(BotsDeployment)
    return deployment.bind(settings)


def app_builder(args: dict[str, Any]) -> Application:
    """The application for a Ray Serve config file, such as KubeRay's RayService (docs/bots.md)::

        applications:
          - name: malmoi
            import_path: malmoi.serve.ray_app:app_builder
            args: {registry: /mnt/registry, replicas: 2, cache_mb: 1024, database_url: postgresql://...}

    ``args`` are settings of :class:`~malmoi.serve.settings.ServeSettings`, those of
    :data:`CONFIG_FILE_KEYS`.

    Raises:
        pydantic.ValidationError: an unknown key, a missing ``registry``, a value of the wrong type.
    """
    others = [key for key in args if key not in CONFIG_FILE_KEYS and key in ServeSettings.model_fields]
    if others:  # settings of `malmoi serve` that Ray's own proxy decides here
        raise ValidationError.from_exception_data("app_builder args", [
            {"type": "extra_forbidden", "loc": (key,), "input": args[key]} for key in others])
    return bots_application(ServeSettings.model_validate({**args, "ray": True}))


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


def run_ray(settings: ServeSettings, *, ready_message: str | None = None) -> None:
    """``malmoi serve --registry DIR --ray``: deploy on Ray Serve and wait for Ctrl-C.

    Without ``settings.ray_address`` a private Ray instance is started (:func:`start_local_ray`,
    never one that already runs here) and stopped on exit. With it, this joins that cluster
    (``ray://...`` or ``auto``) and on exit removes only its own Serve application, ``malmoi``:
    the cluster, its Serve instance and other applications are left as they were. Ray's proxy
    listens on ``settings.host`` and ``settings.port``.
    """
    import ray

    address = settings.ray_address
    temp_dir = None
    if address is None:
        temp_dir = start_local_ray()
    else:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=address, log_to_driver=False)
    try:
        serve.start(http_options={"host": settings.host, "port": settings.port})
        serve.run(bots_application(settings), name=APP_NAME, route_prefix="/")
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
