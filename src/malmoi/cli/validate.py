"""``malmoi validate BOT_DIR``: check a bot directory and report every problem."""

from __future__ import annotations

import argparse
import sys

from malmoi.cli._common import EXIT_FAILED, EXIT_OK, Commands, print_problems


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("validate", help="check a bot directory and report every problem")
    p.add_argument("bot_dir")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from malmoi.data import validate_bot

    problems = validate_bot(args.bot_dir)
    print_problems(problems)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        print(f"{args.bot_dir}: {errors} error(s), {warnings} warning(s).", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.bot_dir}: valid ({warnings} warning(s)).")
    return EXIT_OK
