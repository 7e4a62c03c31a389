"""``malmoi serve``: one model over HTTP (JSON API, chat, Kochat routes, web page), or with ``--registry``
every bot published in a registry, in this process or on Ray Serve (docs/serving.md, docs/bots.md).

The options become one :class:`~malmoi.serve.settings.ServeSettings`, which checks them all, for
every mode, and names the option at fault; the runner (:mod:`malmoi.serve._server`) does the rest.
Options left out are not passed, so that their defaults are the settings' own, and an option that
does not go with the mode (``--cache-mb`` with one model) is refused rather than ignored.
"""

from __future__ import annotations

import argparse
from typing import Any

from malmoi.cli._common import EXIT_OK, Commands, UserError, database_url_option


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("serve", help="serve a model over HTTP: JSON API, chat, Kochat routes, web page")
    p.add_argument("model_dir", nargs="?", help="the model to serve (or --registry DIR for every published bot)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="default 8000")
    database_url_option(p, "SQLAlchemy URL for conversations and the message log "
                        "(default: sqlite:///malmoi-state.sqlite3 in the current directory)")
    p.add_argument("--workers", type=int,
                   help="server processes, each with its own copy of the model (default 1: one batching "
                   "process serves ~700 parses/s on 2 cores)")
    p.add_argument("--scenarios", help="Python module (or module:name) with a malmoi.dialogue.Scenarios of actions")
    p.add_argument("--access-log", action="store_true", default=None, help="log every request (costs throughput)")
    p.add_argument("--allowed-host", action="append", metavar="HOST",
                   help="a Host header to answer, repeatable; others get 400 (against DNS rebinding). Default: "
                   "localhost, 127.0.0.1, ::1 and --host; '*.example.com' a domain, '*' any host")
    p.add_argument("--read-timeout", type=float, metavar="SECONDS",
                   help="close a connection whose request headers, or body, take longer to arrive (default 10)")
    p.add_argument("--keep-alive-timeout", type=int, metavar="SECONDS",
                   help="close an idle keep-alive connection after this long (default 5)")
    p.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="proxies whose X-Forwarded-For names the client, comma-separated addresses or networks "
                   "(as uvicorn's option); default: none, proxy headers are never trusted (docs/serving.md)")
    # Many bots (docs/bots.md): the options below apply with --registry only.
    p.add_argument("--registry", help="serve every bot published in this registry at /v1/bots/{bot}/...")
    p.add_argument("--cache-mb", type=float,
                   help="with --registry: memory for loaded bots in MB; least recently used leave first (default 1024)")
    p.add_argument("--no-keys", action="store_true",
                   help="with --registry: answer without API keys (any client that reaches the port uses every bot)")
    # Scale-out (docs/bots.md, "Scale-out on Ray Serve"): with --registry, the `ray` extra.
    p.add_argument("--ray", action="store_true", default=None,
                   help="with --registry: serve on Ray Serve, multiplexed by bot version (pip install 'malmoi[ray]')")
    p.add_argument("--replicas", type=int, help="with --ray: replicas of the server (default 1)")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="with --ray: join this Ray cluster ('auto', or host:port); default: start Ray on this machine")
    # The review page (docs/review.md).
    p.add_argument("--review-data", metavar="BOT_DIR", help="serve the review page at /review (to this machine "
                   "only), writing answers into this bot directory, the one the model was trained from")
    p.add_argument("--review-dir", metavar="DIR", help="with --registry: serve /review/{bot} to admin keys, "
                   "writing answers into DIR/<bot>")
    # Channels and operations (docs/channels.md, docs/serving.md "Metrics").
    p.add_argument("--channel-deadline", type=float, metavar="SECONDS",
                   help="seconds a channel's answer may take before the scenario's failure text answers "
                   "(default 4.5: KakaoTalk waits 5)")
    p.add_argument("--metrics", choices=["local", "open", "off"],
                   help="who may read /metrics: local (this machine, or an admin key; the default), open, off")
    p.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> Any:
    """The :class:`~malmoi.serve.settings.ServeSettings` of the options given; UserError naming a wrong one."""
    from pydantic import ValidationError

    from malmoi.serve.settings import ServeSettings, default_allowed_hosts, settings_problem

    given: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("model_dir", "registry", "host", "port", "database_url", "workers", "scenarios", "access_log",
                     "read_timeout", "keep_alive_timeout", "forwarded_allow_ips", "cache_mb", "ray", "replicas",
                     "ray_address", "review_data", "review_dir", "channel_deadline", "metrics")
    }
    if args.allowed_host is not None:  # added to the defaults
        given["allowed_hosts"] = [*default_allowed_hosts(args.host or "127.0.0.1"), *args.allowed_host]
    if args.no_keys:
        given["require_keys"] = False
    try:
        return ServeSettings.model_validate({name: value for name, value in given.items() if value is not None})
    except ValidationError as exc:
        raise UserError(settings_problem(exc)) from None


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from malmoi.serve._server import StartError
    from malmoi.serve._server import run as run_server

    try:  # a --database-url that does not work is named by the error mapper (malmoi.cli._common.run)
        # Loads the model before binding the port: a model that cannot load is a ModelLoadError,
        # which the error mapper prints in one line with exit status 2.
        run_server(settings)
    except StartError as exc:
        raise UserError(str(exc)) from exc
    return EXIT_OK
