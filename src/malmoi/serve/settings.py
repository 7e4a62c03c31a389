"""Every option of the server, checked once: :class:`ServeSettings`.

One object carries what ``malmoi serve`` was asked for, for every mode: one model
(``model_dir``), a registry of bots (``registry``), and a registry on Ray Serve (``ray``). The
command builds it from its options, the runner (:mod:`malmoi.serve._server`) hands it to its
worker processes as JSON in one environment variable, and the app builder
(:mod:`malmoi.serve.builder`) and the Ray deployment (:mod:`malmoi.serve.ray_app`) read it.
Whatever is wrong is refused here, before anything loads or listens, with one line that names
the option as the command spells it (``--port 70000 is not a TCP port (0-65535)``);
:func:`settings_problem` turns a :class:`pydantic.ValidationError` into that line.

A leaf of the server: no FastAPI, torch or model import, so that the command and uvicorn's
supervising process can read settings without loading either.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Strict, ValidationError, field_validator, model_validator

from malmoi.serve.limits import DEFAULT_ALLOWED_HOSTS, DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_READ_TIMEOUT

if TYPE_CHECKING:
    from malmoi.dialogue.scenarios import Scenarios

__all__ = [
    "DEFAULT_CACHE_MB", "DEFAULT_MODELS_PER_REPLICA", "ENV_SETTINGS", "ServeSettings", "default_allowed_hosts",
    "load_scenarios", "option_name", "settings_problem",
]

DEFAULT_CACHE_MB = 1024.0  # 1 GiB of loaded bots: thousands of small ones (docs/bots.md)
# Ray's count of bots a replica advertises. Memory is bounded by the BotCache behind it, so the
# count can be large: it only needs to be about as many bots as the byte budget holds.
DEFAULT_MODELS_PER_REPLICA = 4096

# How `malmoi serve` hands its settings to the worker processes uvicorn starts (by import string).
ENV_SETTINGS = "MALMOI_SERVE_SETTINGS"

# Options of the one-model server only, of a registry only, and of Ray only (with a registry).
ONE_MODEL_OPTIONS = ("workers", "scenarios", "review_data")
REGISTRY_OPTIONS = ("cache_mb", "require_keys", "review_dir", "ray")
RAY_OPTIONS = ("ray_address", "replicas", "cpus_per_replica", "models_per_replica")
NOT_ON_RAY = {
    "review_dir": "--review-dir is not served on Ray: serve the review page from a second process, "
                  "`malmoi serve --registry DIR --review-dir REVIEW_DIR --port OTHER`",
    "forwarded_allow_ips": "--forwarded-allow-ips is not used on Ray: Ray Serve's own proxy receives the requests",
    "access_log": "--access-log is not used on Ray: Ray Serve logs requests in its own log files",
    "keep_alive_timeout": "--keep-alive-timeout is not used on Ray: Ray Serve's proxy keeps the connections",
}

# The command's spelling of each option, where it is not `--` and the field's name with dashes.
_OPTION_NAMES = {"model_dir": "MODEL_DIR", "allowed_hosts": "--allowed-host", "require_keys": "--no-keys"}
_HOST_NAME = re.compile(r"[^\s/,@]+")
_MODULE = re.compile(r"[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?")

Folder = Annotated[Path, Strict(False)]  # a str or a Path, from the command, the environment or Python


def option_name(field: str) -> str:
    """``read_timeout`` → ``--read-timeout``: how the command spells a setting."""
    return _OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def default_allowed_hosts(host: str) -> tuple[str, ...]:
    """The Host headers answered by default: this machine's loopback names and ``host``."""
    return tuple(dict.fromkeys([*DEFAULT_ALLOWED_HOSTS, host]))


def _positive_seconds(value: float | None, option: str) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{option} must be a positive number of seconds, not {value:g}")
    return value


class ServeSettings(BaseModel):
    """What ``malmoi serve`` serves and how: every option, for one model or a registry.

    Give ``model_dir`` (one model) or ``registry`` (every bot published in it), not both.
    Values are not converted (``port="8000"`` is refused), except paths, which may be strings.

    Example:
        >>> ServeSettings(model_dir="models/demo", port=8080).allowed_hosts
        ('localhost', '127.0.0.1', '::1')
        >>> ServeSettings(model_dir="models/demo", host="10.0.0.5").allowed_hosts
        ('localhost', '127.0.0.1', '::1', '10.0.0.5')
    """

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", use_attribute_docstrings=True)

    # What is served.
    model_dir: Folder | None = None
    """a folder written by ``malmoi train``: one bot at ``/v1/parse``, ``/v1/chat``, Kochat's routes."""
    registry: Folder | None = None
    """a registry (``malmoi publish``): every bot at ``/v1/bots/{bot}/...``."""
    # Where, and the connections.
    host: str = "127.0.0.1"
    port: int = 8000
    # A list too (JSON, the command's options). Left out or None: filled in from `host` (_default_hosts).
    allowed_hosts: Annotated[tuple[str, ...], Strict(False)] = ()
    """Host headers answered, others get 400 ``invalid_host``; default :func:`default_allowed_hosts`
    of ``host``; ``*`` answers any (behind a proxy that checks Host), ``*.example.com`` a domain."""
    read_timeout: float | None = DEFAULT_READ_TIMEOUT
    """seconds for a request's headers, and again for its body, to arrive; ``None``: no limit."""
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT
    forwarded_allow_ips: str | None = None
    """proxies whose ``X-Forwarded-For`` names the client (:mod:`malmoi.serve.proxies`)."""
    access_log: bool = False
    # Conversations and the message log.
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///malmoi-state.sqlite3`` in the working directory."""
    log_parses: bool = True
    """also log parse-only messages (``/v1/parse``, ``/get_intent``), not only chat."""
    # Channels and operations.
    channel_deadline: float = 4.5
    """seconds a channel's answer may take (KakaoTalk waits 5); past it the scenario's failure text answers."""
    # The platforms' APIs that channels answer through; tests point them at fakes on 127.0.0.1.
    line_api: str = "https://api.line.me"
    slack_api: str = "https://slack.com/api"
    telegram_api: str = "https://api.telegram.org"
    metrics: str = "local"
    """who may read ``/metrics``: ``local`` (this machine, or an admin key on a registry), ``open`` (anyone
    who reaches the port: behind a firewall), ``off`` (no route)."""
    # One model.
    workers: int = 1
    scenarios: str | None = None
    """``module`` or ``module:name`` holding a :class:`malmoi.dialogue.Scenarios`."""
    review_data: Folder | None = None
    """the bot directory the model was trained from: the review page, for this machine."""
    # A registry.
    cache_mb: float = DEFAULT_CACHE_MB
    require_keys: bool = True
    review_dir: Folder | None = None
    """a folder of bot directories, ``REVIEW_DIR/<bot>``: the review pages, for admin keys."""
    # A registry on Ray Serve.
    ray: bool = False
    ray_address: str | None = None
    replicas: int = 1
    cpus_per_replica: float = 1.0
    models_per_replica: int = DEFAULT_MODELS_PER_REPLICA

    @model_validator(mode="before")
    @classmethod
    def _default_hosts(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("allowed_hosts") is None:
            host = data.get("host", "127.0.0.1")
            data = {**data, "allowed_hosts": default_allowed_hosts(host) if isinstance(host, str) else ()}
        return data

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        if not _HOST_NAME.fullmatch(value):
            raise ValueError(f"--host {value!r} is not an address to listen on, like 127.0.0.1, 0.0.0.0 or ::")
        return value

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError(f"--port {value} is not a TCP port (0-65535)")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _check_allowed_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("--allowed-host: give at least one host name, or '*' for any")
        for host in value:
            if not _HOST_NAME.fullmatch(host):
                raise ValueError("--allowed-host takes a host name or address, like example.com, 10.0.0.5 or "
                                 f"*.example.com, not {host!r}")
        return value

    @field_validator("read_timeout")
    @classmethod
    def _check_read_timeout(cls, value: float | None) -> float | None:
        return _positive_seconds(value, "--read-timeout")

    @field_validator("keep_alive_timeout")
    @classmethod
    def _check_keep_alive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"--keep-alive-timeout must be a positive number of seconds, not {value}")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: str | None) -> str | None:
        for part in (value.split(",") if value is not None else []):
            try:
                if part.strip() != "*":
                    ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError(f"--forwarded-allow-ips {value!r}: {part.strip()!r} is not an address or a "
                                 "network; give them comma-separated, like 127.0.0.1,10.0.0.0/8 (or '*')") from None
        return value

    @field_validator("channel_deadline")
    @classmethod
    def _check_channel_deadline(cls, value: float) -> float:
        if not (math.isfinite(value) and 0 < value <= 60):
            raise ValueError(f"--channel-deadline must be a number of seconds in (0, 60], not {value:g}")
        return value

    @field_validator("line_api", "slack_api", "telegram_api")
    @classmethod
    def _check_api(cls, value: str, info: Any) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError(f"{option_name(info.field_name)} {value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("metrics")
    @classmethod
    def _check_metrics(cls, value: str) -> str:
        if value not in ("local", "open", "off"):
            raise ValueError(f"--metrics is local, open or off, not {value!r}")
        return value

    @field_validator("database_url", "ray_address")
    @classmethod
    def _not_empty(cls, value: str | None, info: Any) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(f"{option_name(info.field_name)} is empty: leave it out for the default")
        return value

    @field_validator("workers", "replicas", "models_per_replica")
    @classmethod
    def _at_least_one(cls, value: int, info: Any) -> int:
        if value < 1:
            raise ValueError(f"{option_name(info.field_name)} must be at least 1, not {value}")
        return value

    @field_validator("cache_mb", "cpus_per_replica")
    @classmethod
    def _positive(cls, value: float, info: Any) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{option_name(info.field_name)} must be a positive number, not {value:g}")
        return value

    @field_validator("scenarios")
    @classmethod
    def _check_scenarios(cls, value: str | None) -> str | None:
        if value is not None and not _MODULE.fullmatch(value):
            raise ValueError(f"--scenarios {value!r} is not a Python module (or module:name), like mybot.actions")
        return value

    @model_validator(mode="after")
    def _check_mode(self) -> ServeSettings:
        given = self.model_fields_set
        if self.model_dir is not None and self.registry is not None:
            raise ValueError("give a model to serve or --registry DIR, not both")
        if self.model_dir is None and self.registry is None:
            raise ValueError("give the model to serve (`malmoi serve MODEL_DIR`), or a registry (`--registry DIR`)")
        if self.registry is None:
            if self.ray or given & set(RAY_OPTIONS):
                raise ValueError("--ray, --replicas and --ray-address serve a registry: add --registry DIR")
            if self.review_dir is not None:
                raise ValueError("--review-dir does not go with one model: use --review-data BOT_DIR")
            registry_only = sorted(given & set(REGISTRY_OPTIONS))
            if registry_only:
                raise ValueError(f"{option_name(registry_only[0])} goes with --registry DIR, not with one model")
        else:
            if self.review_data is not None:
                raise ValueError("--review-data does not go with --registry: use --review-dir DIR (DIR/<bot> per bot)")
            if self.workers != 1:
                raise ValueError("--registry serves from one process (its bot cache is per process); drop --workers "
                                 "(or serve on Ray: --ray --replicas N)")
            if self.scenarios is not None:
                raise ValueError("--scenarios goes with one model, not with --registry: a registry's bots answer "
                                 "with the scenarios of their own bot.yaml")
            if not self.ray and given & set(RAY_OPTIONS):
                raise ValueError("--replicas and --ray-address are options of --ray: add --ray")
            if self.ray:
                for name, problem in NOT_ON_RAY.items():
                    if name in given and getattr(self, name) not in (None, False):
                        raise ValueError(problem)
        self._check_folders()
        return self

    def _check_folders(self) -> None:
        folder = self.review_data if self.review_data is not None else self.review_dir
        if folder is None:
            return
        option = "--review-data" if self.review_data is not None else "--review-dir"
        if not folder.is_dir():
            raise ValueError(f"{option} {folder}: no such folder")
        if self.review_data is not None and not (folder / "bot.yaml").is_file():
            raise ValueError(f"--review-data {folder} is not a bot directory (no bot.yaml); give the folder the "
                             "model was trained from")

    # -- derived values ------------------------------------------------------------------------

    @property
    def cache_bytes(self) -> int:
        """The bot cache's budget in bytes (``cache_mb`` MiB)."""
        return int(self.cache_mb * 2**20)

    @property
    def shown_host(self) -> str:
        """The name to print in a URL: ``localhost`` for the loopback and wildcard addresses."""
        return "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host

    # -- the worker processes' copy ------------------------------------------------------------

    def to_environment(self) -> None:
        """Put these settings where :meth:`from_environment` finds them (a worker process started by uvicorn)."""
        # Only what was given: the copy is checked again, and an option given is one that must fit the mode.
        os.environ[ENV_SETTINGS] = self.model_dump_json(exclude_unset=True)

    @classmethod
    def from_environment(cls) -> ServeSettings:
        """The settings :meth:`to_environment` stored, checked again."""
        found = os.environ.get(ENV_SETTINGS)
        if not found:
            raise RuntimeError(f"{ENV_SETTINGS} is not set: start the server with `malmoi serve`")
        return cls.model_validate_json(found)


def settings_problem(error: ValidationError) -> str:
    """One line for the first thing wrong in ``error``, naming the option as the command spells it.

    Messages of malmoi's own checks name their option already; pydantic's (a value of the wrong
    type, an unknown option) get the option's name in front.
    """
    first = error.errors(include_url=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    location = [str(part) for part in first.get("loc", ()) if not isinstance(part, int)]
    if not location or message.startswith(("-", option_name(location[0]))):
        return message
    if first["type"] == "extra_forbidden":
        return f"{location[0]} is not a server option"
    return f"{option_name(location[0])}: {message[0].lower()}{message[1:]}"


def load_scenarios(spec: str | None) -> Scenarios | None:
    """Import ``module`` or ``module:attribute`` holding a :class:`Scenarios` (``--scenarios``)."""
    if not spec:
        return None
    import importlib

    from malmoi.dialogue.scenarios import Scenarios

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
