"""``malmoi validate BOT_DIR``: check a bot directory (and its conversation tests) and report every problem."""

from __future__ import annotations

import argparse
import sys

from malmoi.cli._common import EXIT_FAILED, EXIT_OK, Commands, print_problems


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("validate", help="check a bot directory and report every problem")
    p.add_argument("bot_dir")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from malmoi.data._loading import inspect_bot
    from malmoi.data.conversations import read_conversations

    _, data, problems = inspect_bot(args.bot_dir)
    if data.examples:  # the conversation tests must name the bot's intents (and should, its entity types)
        problems += read_conversations(args.bot_dir, intents=data.intents, entity_types=data.entity_types)[1]
    print_problems(problems)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        print(f"{args.bot_dir}: {errors} error(s), {warnings} warning(s).", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.bot_dir}: valid ({warnings} warning(s)).")
    return EXIT_OK
