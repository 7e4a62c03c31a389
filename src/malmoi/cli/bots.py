"""Many bots, versioned (docs/bots.md): ``malmoi publish``, ``versions``, ``rollback`` and ``keys
create | list | revoke``. ``malmoi serve --registry`` serves what these manage; ``promote`` and
``split-traffic`` (:mod:`malmoi.cli.environments`) move versions between environments."""

from __future__ import annotations

import argparse
import json
import sys

from malmoi.cli._common import (
    EXIT_OK,
    EXIT_REFUSED,
    Commands,
    UserError,
    check_force_reason,
    environment_option,
    gate_passes,
    open_registry,
    registry_option,
)

# malmoi.bots.environments' names, not imported from there: `malmoi --help` loads no registry code.
PRODUCTION, BETA = "production", "beta"


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("publish", help="check a model completely and store it as the bot's next version")
    p.add_argument("model_dir", nargs="?", help="the model folder (none with --config-only)")
    p.add_argument("--bot", required=True, help="the bot's name in the registry (lower-case letters, digits, - _)")
    p.add_argument("--data", help="the bot directory it was trained from: snapshotted so the version can be rebuilt; "
                   "the server answers with its bot.yaml (scenarios, answers, fallbacks, webhooks)")
    p.add_argument("--config-only", action="store_true",
                   help="a new version with --data's bot.yaml and the model of the environment's version: changes "
                   "what the bot says without retraining")
    environment_option(p, "the environment the version goes to (default beta; a bot's first version goes to "
                       "production too)", default=BETA)
    p.add_argument("--no-activate", action="store_true", help="store the version without making it live")
    p.add_argument("--force", action="store_true",
                   help="publish a model whose files are those of an existing version of the bot as a new version; "
                   "with --reason, one that fails the bot's conversation tests")
    p.add_argument("--reason", help="with --force: why a model that fails the conversation tests of --data is "
                   "published anyway (kept in the version's PUBLISHED.json)")
    registry_option(p)
    p.set_defaults(func=publish)

    p = commands.add_parser("versions", help="list a bot's published versions with their training metrics")
    p.add_argument("--bot", required=True)
    p.add_argument("--json", action="store_true", help="print JSON")
    registry_option(p)
    p.set_defaults(func=versions)

    p = commands.add_parser("rollback", help="make the bot's previous live version live again")
    p.add_argument("--bot", required=True)
    environment_option(p, "the environment to roll back (default production); the others do not move",
                       default=PRODUCTION)
    p.add_argument("--to", metavar="VERSION", help="make this version live instead (e.g. v000002)")
    registry_option(p)
    p.set_defaults(func=rollback)

    p = commands.add_parser("keys", help="API keys of a registry's server: create | list | revoke")
    actions = p.add_subparsers(dest="action", required=True)
    k = actions.add_parser("create", help="a new key for one bot (--bot) or for all and the statistics (--admin)")
    k.add_argument("--bot")
    k.add_argument("--admin", action="store_true")
    environment_option(k, "open only this environment of the bot (default: every one)")
    registry_option(k)
    k.set_defaults(func=keys_create)
    k = actions.add_parser("list", help="the keys (ids and bots, never the keys themselves)")
    registry_option(k)
    k.set_defaults(func=keys_list)
    k = actions.add_parser("revoke", help="delete a key by its id")
    k.add_argument("key_id")
    registry_option(k)
    k.set_defaults(func=keys_revoke)


def publish(args: argparse.Namespace) -> int:
    check_force_reason(args)
    registry = open_registry(args)
    if args.config_only:
        if args.model_dir is not None or args.data is None:
            raise UserError("--config-only takes no model folder, and the bot directory as --data: `malmoi publish "
                            f"--config-only --bot {args.bot} --data BOT_DIR`")
        info = registry.publish_config(args.bot, args.data, environment=args.env, activate=not args.no_activate,
                                       allow_identical=args.force)
    elif args.model_dir is None:
        raise UserError("give the model folder to publish (`malmoi publish MODEL_DIR --bot NAME`), or --config-only")
    else:
        gate = None
        if args.data is not None and _has_conversation_tests(args.data):  # they must pass (malmoi.review.check_gate)
            from malmoi.model.model import Model
            from malmoi.review import check_gate

            result = check_gate(Model.load(args.model_dir), args.data)
            if not gate_passes(result, args, what=f"{args.model_dir} was not published"):
                return EXIT_REFUSED
            gate = result.record(forced_reason=None if result.ok else args.reason)
        info = registry.publish(args.model_dir, bot=args.bot, data=args.data, activate=not args.no_activate,
                                allow_identical=args.force, environment=args.env, gate=gate)
    env = "" if args.env == PRODUCTION else f" --env {args.env}"
    activate = f"malmoi rollback --bot {args.bot}{env} --to {info.version}"
    state = f"in {', '.join(info.environments)}" if info.environments else \
        f"stored, not live (make it live: {activate})"
    what = f" (the dialogue of {args.data} with the model of {info.model_from})" if args.config_only else ""
    print(f"published {args.bot} {info.version}{what} to {registry.root} ({state})")
    if args.env != PRODUCTION and PRODUCTION not in info.environments and info.environments:
        print(f"note: production still answers with {registry.live_version(args.bot)}; "
              f"`malmoi promote --bot {args.bot}` moves {info.version} there", file=sys.stderr)
    if info.identical_to:
        print(f"note: {info.version} is the same model as {info.identical_to} (--force)", file=sys.stderr)
    if info.snapshot is None:
        print("note: published without --data: this version cannot be rebuilt from the registry", file=sys.stderr)
    return EXIT_OK


def _has_conversation_tests(bot_dir: str) -> bool:
    from malmoi.data.conversations import conversations_dir

    return conversations_dir(bot_dir).is_dir()


def versions(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    published = registry.versions(args.bot)
    if not published:
        raise UserError(f"{args.bot} has no versions in {registry.root}; publish one with "
                        f"`malmoi publish MODEL_DIR --bot {args.bot}`")
    if args.json:
        print(json.dumps([{**v.__dict__, "path": str(v.path)} for v in published], ensure_ascii=False, indent=1))
        return EXIT_OK
    print(f"{'':2}{'version':<9} {'published':<21} {'intents':>7} {'accuracy':>9} {'entity F1':>9}  "
          f"{'environments':<22} data")
    for v in published:
        accuracy, f1 = v.metrics.get("intent_accuracy"), v.metrics.get("entity_f1")
        data = "snapshot " + v.snapshot[:12] if v.snapshot else "none"
        if v.model_from:
            data += f", model of {v.model_from}"
        print(f"{'*' if v.live else ' ':2}{v.version:<9} {v.published_at:<21} {v.intents:>7} "
              f"{'-' if accuracy is None else f'{accuracy:.4f}':>9} {'-' if f1 is None else f'{f1:.4f}':>9}  "
              f"{','.join(v.environments) or '-':<22} {data}")
    print("* live in production; accuracy and entity F1 on the held-out validation split of training")
    return EXIT_OK


def rollback(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    if args.to is not None:  # also repairs a damaged LIVE, which it does not need to read
        switch = registry.activate(args.bot, args.to, args.env)
        before, now = switch.was, switch.live
        if switch.repaired:
            what = "LIVE file" if args.env == PRODUCTION else f"{args.env} pointer"
            print(f"note: {args.bot}'s {what} was damaged and is replaced; its rollback history is lost",
                  file=sys.stderr)
    else:
        before = registry.live_version(args.bot, args.env)
        now = registry.rollback(args.bot, environment=args.env)
    where = "" if args.env == PRODUCTION else f" in {args.env}"
    print(f"{args.bot}: {now} is live{where} (was {before})")
    return EXIT_OK


def keys_create(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore

    key, record = KeyStore(open_registry(args)).create(bot=args.bot, admin=args.admin, environment=args.env)
    what = "every bot and /v1/stats" if record.admin else f"the bot {record.bot}"
    if record.environment is not None:
        what += f" in {record.environment} only"
    print(key)
    print(f"key {record.id} for {what}; shown once, stored only hashed. Clients send: "
          "Authorization: Bearer <key>", file=sys.stderr)
    return EXIT_OK


def keys_list(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore

    for key in KeyStore(open_registry(args)).list():
        scope = "" if key.environment is None else f" in {key.environment}"
        print(f"{key.id}  {'admin' if key.admin else 'bot ' + str(key.bot)}{scope}  created {key.created_at}")
    return EXIT_OK


def keys_revoke(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore

    key = KeyStore(open_registry(args)).revoke(args.key_id)
    print(f"revoked {key.id} ({'admin' if key.admin else 'bot ' + str(key.bot)})")
    return EXIT_OK
