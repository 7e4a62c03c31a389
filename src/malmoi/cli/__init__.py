"""The ``malmoi`` command line: validate | import | train | parse | test | compare | shell | serve | publish |
versions | rollback | keys | review | retrain | clean.

One module per command (or close family of commands), each with ``add_parser(commands)`` and its
handlers; what they share (exit codes, :class:`UserError`, shared options and checks, the error
mapper) is in :mod:`malmoi.cli._common`. A new command is a new module listed in :data:`COMMANDS`.
Command modules import only the standard library and light malmoi modules at their top, and the rest
inside their handlers, so that ``malmoi --help`` and ``import malmoi.cli`` stay fast.
"""

from __future__ import annotations

import argparse
import logging

from malmoi.cli import (
    bots,
    clean,
    compare,
    importing,
    parse,
    retrain,
    review,
    serve,
    shell,
    stats,
    test,
    train,
    validate,
)
from malmoi.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    IntermixedParser,
    UserError,
    run,
)

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "UserError", "build_parser", "main"]

# In the order `malmoi --help` lists them.
COMMANDS = (validate, importing, train, parse, test, compare, shell, serve, stats, bots, review, retrain, clean)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    return run(args)


def build_parser() -> argparse.ArgumentParser:
    from malmoi._version import __version__

    parser = argparse.ArgumentParser(prog="malmoi", description="Korean-first task-oriented chatbots.")
    parser.add_argument("--version", action="version", version=f"malmoi {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log training details")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=IntermixedParser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser
