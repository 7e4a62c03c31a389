"""``malmoi retrain BOT_DIR --bot NAME``: train from the bot's data, compare with the live version on its
test data, publish only if nothing regresses (docs/review.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from malmoi.cli._common import EXIT_OK, EXIT_REFUSED, Commands, UserError, open_registry, registry_option
from malmoi.outputs import check_folder


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("retrain", help="train from the bot's data, compare with the live version on its test "
                            "data, publish only if nothing regresses")
    p.add_argument("bot_dir")
    registry_option(p)
    p.add_argument("--bot", required=True, help="the bot's name in the registry")
    p.add_argument("--test", help="bot directory of held-out test utterances (default: BOT_DIR/test)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="how much worse any figure may get, absolute (default 0.01)")
    p.add_argument("--min-support", type=int, default=20,
                   help="test utterances an intent needs for its own F1 to be checked (default 20)")
    p.add_argument("--out", help="folder for the candidate, reports and decision (default: "
                   "REGISTRY/candidates/BOT/<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from malmoi.review import retrain

    if args.tolerance < 0:
        raise UserError("--tolerance must be 0 or more")
    if args.min_support < 1:
        raise UserError("--min-support must be at least 1")
    if args.out:
        check_folder(args.out, "retrain run", "--out")
    if not (Path(args.bot_dir) / "bot.yaml").is_file():
        raise UserError(f"{args.bot_dir} is not a bot directory (no bot.yaml)")
    registry = open_registry(args)
    result = retrain(args.bot_dir, registry=registry, bot=args.bot, test_dir=args.test, tolerance=args.tolerance,
                     min_support=args.min_support, run_dir=args.out, progress=not args.quiet,
                     say=lambda message: print(message, file=sys.stderr))
    if result.comparison:
        print(result.comparison)
        print()
    for check in result.checks:
        print(f"{'REGRESSED' if check.regressed else 'ok':9}  {check}")
    if result.refused:
        print(f"error: refused: the candidate is worse than the live version {result.live_version} beyond the "
              f"tolerance on {len(result.refused)} figure(s): " + "; ".join(str(c) for c in result.refused)
              + f". Nothing was published; {result.bot} stays on {result.live_version}. The candidate, both reports "
              f"and the comparison are in {result.run_dir}.", file=sys.stderr)
        return EXIT_REFUSED
    before = f" (was {result.live_version})" if result.live_version else " (its first version)"
    print(f"published {result.bot} {result.published}{before}; candidate, reports and comparison in "
          f"{result.run_dir}", file=sys.stderr)
    return EXIT_OK
