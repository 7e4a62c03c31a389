"""A registry bot's environments (docs/bots.md): ``malmoi promote`` moves beta's version to production
once its checks pass; ``malmoi split-traffic`` answers a share of production's requests with another
environment's version (A/B on live traffic). ``publish --env`` and ``rollback --env`` are in
:mod:`malmoi.cli.bots`."""

from __future__ import annotations

import argparse
import re
import sys

from malmoi.cli._common import EXIT_OK, EXIT_REFUSED, Commands, UserError, open_registry, registry_option

_SHARE = re.compile(r"([a-z][a-z0-9_-]{0,31})=(\d+(?:\.\d+)?)%?")


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("promote", help="move the version of a bot's beta to production, once its checks pass")
    p.add_argument("--bot", required=True)
    p.add_argument("--from", dest="source", metavar="ENV", default="beta",
                   help="the environment to take (default beta)")
    p.add_argument("--to", dest="target", metavar="ENV", default="production",
                   help="the environment to point at it (default production)")
    registry_option(p)
    p.set_defaults(func=promote)

    p = commands.add_parser("split-traffic", help="answer a share of production's requests with another environment")
    p.add_argument("--bot", required=True)
    p.add_argument("shares", nargs="*", metavar="ENV=PERCENT", help="e.g. beta=10: one request in ten goes to beta")
    p.add_argument("--off", action="store_true", help="end the split: production answers every request")
    registry_option(p)
    p.set_defaults(func=split_traffic)


def promote(args: argparse.Namespace) -> int:
    from malmoi.bots.errors import PromotionRefused
    from malmoi.bots.gate import gate

    registry = open_registry(args)
    before = registry.live_version(args.bot, args.target)
    try:
        switch = registry.promote(args.bot, args.source, args.target,
                                  check=lambda version: gate(registry, args.bot, version))
    except PromotionRefused as exc:
        for failure in exc.failures:
            print(f"failed: {failure}", file=sys.stderr)
        print(f"error: {args.bot}'s {args.source} version was not promoted ({len(exc.failures)} checks failed); "
              f"{args.target} stays on {before}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{args.bot}: {switch.live} is live in {args.target} (was {before})")
    return EXIT_OK


def split_traffic(args: argparse.Namespace) -> int:
    if args.off == bool(args.shares):
        raise UserError("give the shares, like `malmoi split-traffic --bot B beta=10`, or --off to end the split")
    shares: dict[str, float] = {}
    for given in args.shares:
        found = _SHARE.fullmatch(given)
        if found is None:
            raise UserError(f"{given!r} is not ENV=PERCENT, like beta=10")
        shares[found.group(1)] = float(found.group(2))
    registry = open_registry(args)
    registry.split_traffic(args.bot, {env: share for env, share in shares.items() if share > 0})
    now = registry.traffic_split(args.bot)
    if not now:
        print(f"{args.bot}: production answers every request")
    else:
        rest = 100 - sum(now.values())
        parts = [f"{env} ({registry.live_version(args.bot, env)}) {share:g} %" for env, share in now.items()]
        print(f"{args.bot}: {', '.join(parts)}, production ({registry.live_version(args.bot)}) {rest:g} %")
    return EXIT_OK
