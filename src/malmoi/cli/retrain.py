"""``malmoi retrain BOT_DIR --bot NAME``: train from the bot's data, compare with the live version on its
test data, publish only if nothing regresses (docs/review.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from malmoi.cli._common import (
    EXIT_OK,
    EXIT_REFUSED,
    Commands,
    UserError,
    check_force_reason,
    open_registry,
    registry_option,
)
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
    p.add_argument("--force", action="store_true", help="with --reason: publish a candidate that fails the gate "
                   "(conversation tests, reviewed utterances) anyway; regressions still refuse it")
    p.add_argument("--reason", help="with --force: why (kept in decision.json and the version's PUBLISHED.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from malmoi.review import retrain

    check_force_reason(args)
    if args.force and args.reason is None:
        raise UserError('--force publishes a candidate that fails the gate only with --reason "why", which the '
                        "version keeps")
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
                     say=lambda message: print(message, file=sys.stderr), force_reason=args.reason)
    if result.comparison:
        print(result.comparison)
        print()
    for check in result.checks:
        print(f"{'REGRESSED' if check.regressed else 'ok':9}  {check}")
    gate = result.gate
    if gate is not None and not gate.ok:
        for line in gate.conversations.failure_lines() if gate.conversations is not None else []:
            print(line)
        for miss in gate.reviewed_misses:
            print(f"NOT AS REVIEWED  {miss}")
    if gate is not None and not gate.ok and not result.gate_refused:
        print(f"warning: {'; '.join(gate.reasons())} (--force: {args.reason})", file=sys.stderr)
    if result.gate_refused:
        print(f"error: refused: {'; '.join(gate.reasons())}. decision.json in {result.run_dir} lists each one; add "
              "reviewed examples or fix the tests and retrain, or publish anyway with --force --reason \"why\".",
              file=sys.stderr)
    if result.refused:
        print(f"error: refused: the candidate is worse than the live version {result.live_version} beyond the "
              f"tolerance on {len(result.refused)} figure(s): " + "; ".join(str(c) for c in result.refused)
              + ". The candidate, both reports and the comparison are in " + f"{result.run_dir}.", file=sys.stderr)
    if result.refused or result.gate_refused:
        print(f"Nothing was published; {result.bot} stays on {result.live_version or 'no version'}.", file=sys.stderr)
        return EXIT_REFUSED
    before = f" (was {result.live_version})" if result.live_version else " (its first version)"
    print(f"published {result.bot} {result.published}{before}; candidate, reports and comparison in "
          f"{result.run_dir}", file=sys.stderr)
    return EXIT_OK
