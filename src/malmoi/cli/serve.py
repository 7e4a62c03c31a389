"""``malmoi serve``: one model over HTTP (JSON API, chat, Kochat routes, web page), or with ``--registry``
every bot published in a registry, in this process or on Ray Serve (docs/serving.md, docs/bots.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from malmoi.cli._common import EXIT_OK, Commands, UserError, database_url_option


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("serve", help="serve a model over HTTP: JSON API, chat, Kochat routes, web page")
    p.add_argument("model_dir", nargs="?", help="the model to serve (or --registry DIR for every published bot)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    database_url_option(p, "SQLAlchemy URL for conversations and the message log "
                        "(default: sqlite:///malmoi-state.sqlite3 in the current directory)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes, each with its own copy of the model (default 1: one batching "
                   "process serves ~700 parses/s on 2 cores)")
    p.add_argument("--scenarios", help="Python module (or module:name) with a malmoi.dialogue.Scenarios of actions")
    p.add_argument("--access-log", action="store_true", help="log every request (costs throughput)")
    p.add_argument("--allowed-host", action="append", metavar="HOST",
                   help="a Host header to answer, repeatable; others get 400 (against DNS rebinding). Default: "
                   "localhost, 127.0.0.1, ::1 and --host; '*.example.com' a domain, '*' any host")
    p.add_argument("--read-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="close a connection whose request headers, or body, take longer to arrive (default 10)")
    p.add_argument("--keep-alive-timeout", type=int, default=5, metavar="SECONDS",
                   help="close an idle keep-alive connection after this long (default 5)")
    p.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="proxies whose X-Forwarded-For names the client, comma-separated addresses or networks "
                   "(as uvicorn's option); default: none, proxy headers are never trusted (docs/serving.md)")
    # Many bots (docs/bots.md): the options below apply with --registry only.
    p.add_argument("--registry", help="serve every bot published in this registry at /v1/bots/{bot}/...")
    p.add_argument("--cache-mb", type=float, default=1024,
                   help="with --registry: memory for loaded bots in MB; least recently used leave first (default 1024)")
    p.add_argument("--no-keys", action="store_true",
                   help="with --registry: answer without API keys (any client that reaches the port uses every bot)")
    # Scale-out (docs/bots.md, "Scale-out on Ray Serve"): with --registry, the `ray` extra.
    p.add_argument("--ray", action="store_true",
                   help="with --registry: serve on Ray Serve, multiplexed by bot version (pip install 'malmoi[ray]')")
    p.add_argument("--replicas", type=int, default=1, help="with --ray: replicas of the server (default 1)")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="with --ray: join this Ray cluster ('auto', or host:port); default: start Ray on this machine")
    # The review page (docs/review.md).
    p.add_argument("--review-data", metavar="BOT_DIR", help="serve the review page at /review (to this machine "
                   "only), writing answers into this bot directory, the one the model was trained from")
    p.add_argument("--review-dir", metavar="DIR", help="with --registry: serve /review/{bot} to admin keys, "
                   "writing answers into DIR/<bot>")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from malmoi.serve._server import check_model, default_allowed_hosts, load_scenarios
        from malmoi.serve._server import run as run_server
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    from malmoi.dialogue.scenarios import ScenarioError

    if args.registry is not None:
        return _serve_registry(args)
    if args.ray or args.ray_address or args.replicas != 1:
        raise UserError("--ray, --replicas and --ray-address serve a registry: add --registry DIR")
    if args.model_dir is None:
        raise UserError("give the model to serve (`malmoi serve MODEL_DIR`), or a registry (`--registry DIR`)")
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port} is not a TCP port (0-65535)")
    if not args.read_timeout > 0 or args.keep_alive_timeout < 1:
        raise UserError("--read-timeout and --keep-alive-timeout must be positive numbers of seconds")
    allowed_hosts = args.allowed_host
    if allowed_hosts is not None:
        allowed_hosts = [*default_allowed_hosts(args.host), *allowed_hosts]
        if any(not h.strip() or any(c.isspace() or c in "/,@" for c in h) for h in allowed_hosts):
            raise UserError("--allowed-host takes a host name or address, like example.com, 10.0.0.5 or *.example.com")
    try:  # a --database-url that does not work is named by the error mapper (malmoi.cli._common.run)
        bot = check_model(args.model_dir, load_scenarios(args.scenarios), args.database_url)
    except ScenarioError as exc:
        raise UserError(f"{args.model_dir}: {exc}") from exc
    except (ImportError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    ready = f"Serving '{bot}' on http://{shown}:{args.port}/ (API docs: /docs). Ctrl-C stops it."
    ready += " No API keys: any client that reaches the port can use the bot and its conversations."
    if args.host in ("0.0.0.0", "::") and args.allowed_host is None:
        ready += (" Listening on every interface, but only requests addressed to localhost are answered: "
                  "add --allowed-host NAME for each name or address that clients use.")
    # Loads the model before binding the port: a model that cannot load is a ModelLoadError,
    # which the error mapper prints in one line with exit status 2.
    run_server(args.model_dir, host=args.host, port=args.port, database_url=args.database_url,
               workers=args.workers, scenarios=args.scenarios, access_log=args.access_log,
               allowed_hosts=allowed_hosts, read_timeout=args.read_timeout,
               keep_alive_timeout=args.keep_alive_timeout, ready_message=ready, review_data=_review_option(args),
               forwarded_allow_ips=args.forwarded_allow_ips)
    return EXIT_OK


def _review_option(args: argparse.Namespace) -> str | None:
    """``--review-data`` (one bot) or ``--review-dir`` (registry), checked before the server starts."""
    wrong = "--review-data" if args.registry is not None else "--review-dir"
    if (args.review_dir if args.registry is None else args.review_data) is not None:
        raise UserError(f"{wrong} does not go with {'--registry' if args.registry else 'one model'}: use "
                        f"{'--review-dir DIR (DIR/<bot> per bot)' if args.registry else '--review-data BOT_DIR'}")
    folder = args.review_dir if args.registry is not None else args.review_data
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise UserError(f"{folder}: no such folder")
    if args.registry is None and not (Path(folder) / "bot.yaml").is_file():
        raise UserError(f"--review-data {folder} is not a bot directory (no bot.yaml); give the folder the model "
                        "was trained from")
    return str(folder)


def _serve_registry(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore, Registry

    if args.model_dir is not None:
        raise UserError("give a model to serve or --registry DIR, not both")
    if not args.ray and (args.replicas != 1 or args.ray_address):
        raise UserError("--replicas and --ray-address are options of --ray: add --ray")
    if args.ray and args.forwarded_allow_ips:
        raise UserError("--forwarded-allow-ips is not used on Ray: Ray Serve's own proxy receives the requests")
    if args.workers != 1:
        raise UserError("--registry serves from one process (its bot cache is per process); drop --workers")
    if not args.cache_mb > 0:
        raise UserError("--cache-mb must be a positive number of megabytes")
    registry = Registry(args.registry)
    bots = registry.bots()
    if not bots:
        raise UserError(f"{args.registry} has no published bots; publish one with "
                        f"`malmoi publish MODEL_DIR --bot NAME --registry {args.registry}`")
    require_keys = not args.no_keys
    if require_keys and not KeyStore(registry).any():
        raise UserError(f"{args.registry} has no API keys: create one with `malmoi keys create --bot NAME "
                        f"--registry {args.registry}`, or serve without keys with --no-keys")
    from malmoi.serve._server import run_bots

    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    access = ("API keys required (Authorization: Bearer <key>)" if require_keys else
              "no API keys (--no-keys): any client that reaches the port can use every bot")
    ready = (f"Serving {len(bots)} bots of {args.registry} on http://{shown}:{args.port}/v1/bots/{{bot}}/parse "
             f"and /chat; {access}; cache {args.cache_mb:g} MB. Ctrl-C stops it.")
    allowed_hosts = None if args.allowed_host is None else [*_default_hosts(args.host), *args.allowed_host]
    if args.ray and args.review_dir is not None:
        raise UserError("--review-dir is not served on Ray: serve the review page from a second process, "
                        f"`malmoi serve --registry {args.registry} --review-dir {args.review_dir} --port OTHER`")
    if args.ray:
        return _serve_ray(args, ready, require_keys=require_keys, allowed_hosts=allowed_hosts)
    run_bots(args.registry, host=args.host, port=args.port, database_url=args.database_url,
             cache_bytes=int(args.cache_mb * 1024 * 1024), require_keys=require_keys, access_log=args.access_log,
             allowed_hosts=allowed_hosts, read_timeout=args.read_timeout,
             keep_alive_timeout=args.keep_alive_timeout, ready_message=ready, review_dir=_review_option(args),
             forwarded_allow_ips=args.forwarded_allow_ips)
    return EXIT_OK


def _serve_ray(args: argparse.Namespace, ready: str, *, require_keys: bool, allowed_hosts: list[str] | None) -> int:
    if args.replicas < 1:
        raise UserError("--replicas must be at least 1")
    try:
        from malmoi.serve.ray_app import run_ray
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    where = f"the Ray cluster at {args.ray_address}" if args.ray_address else "a Ray instance started on this machine"
    run_ray(args.registry, address=args.ray_address, host=args.host, port=args.port,
            ready_message=f"{ready} On Ray Serve: {args.replicas} replica(s) on {where}; the cache is per replica.",
            replicas=args.replicas, cache_bytes=int(args.cache_mb * 1024 * 1024), database_url=args.database_url,
            require_keys=require_keys, read_timeout=args.read_timeout,
            allowed_hosts=_default_hosts(args.host) if allowed_hosts is None else allowed_hosts)
    return EXIT_OK


def _default_hosts(host: str) -> list[str]:
    from malmoi.serve._server import default_allowed_hosts

    return default_allowed_hosts(host)
