"""What every command shares: exit codes, :class:`UserError`, the parser class, shared options and
checks, and the one place where errors become a line on standard error and an exit status.

Only the standard library and :mod:`malmoi.outputs` load here: ``malmoi --help`` stays fast, and each
command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from malmoi.outputs import check_writable_parent

# What each command module's ``add_parser(commands)`` adds its parser to, and the handler it sets as ``func``.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace], int]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_REFUSED = 3  # publish, retrain: the model fails the gate or regresses; nothing was published
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT

# The state store a server and `malmoi review` use when no --database-url is given.
DEFAULT_DATABASE = "malmoi-state.sqlite3"


class UserError(Exception):
    """A mistake the user can fix; printed as one clear message, never as a traceback."""


class IntermixedParser(argparse.ArgumentParser):
    """A command's options and arguments in any order: ``parse MODEL --batch-size 8 "안녕"``.

    Plain argparse fills an optional argument (``text``, ``nargs="?"``) with nothing as soon as
    it reads the argument before it, so an utterance after an option is "unrecognized".
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args twice; those calls parse plainly.
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


# -- shared options -------------------------------------------------------------------------------


def now_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", type=reference_time, metavar="ISO",
                        help="the reference time of relative dates and times (\"내일\"), ISO 8601, like "
                             "2024-05-15T10:00:00+09:00 (without an offset: in the bot's time zone); "
                             "default: the clock")


def reference_time(text: str) -> Any:
    """``--now``'s value: an ISO 8601 date or time (argparse prints the error with exit status 2)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time; write one like 2024-05-15T10:00:00+09:00 or 2024-05-15") from None


def registry_option(parser: argparse.ArgumentParser) -> None:
    """``--registry DIR`` of the commands that manage a registry (docs/bots.md)."""
    parser.add_argument("--registry", help="the registry folder (default: $MALMOI_REGISTRY, else ./registry)")


def environment_option(parser: argparse.ArgumentParser, help: str, default: str | None = None) -> None:
    """``--env NAME``: a registry bot's environment (production, beta, or another by name; docs/bots.md)."""
    parser.add_argument("--env", metavar="NAME", default=default, help=help)


def database_url_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--database-url``: the state store; a URL that does not work is named by :func:`run`."""
    parser.add_argument("--database-url", help=help)


def open_registry(args: argparse.Namespace) -> Any:
    """The registry of ``--registry``, else the default one ($MALMOI_REGISTRY, else ./registry)."""
    from malmoi.bots import Registry

    return Registry(args.registry) if args.registry else Registry(Registry.default_root())


# -- shared checks and printing -------------------------------------------------------------------


def check_output_dir(path: str | os.PathLike[str], what: str) -> None:
    """Fail now, not after the work, if ``path`` cannot become a folder to write into.

    Unlike :func:`malmoi.outputs.check_folder`, the folder may hold anything: the command adds its
    files beside what is there (TensorBoard's event files, ``malmoi clean``'s reports and backups).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file, not a folder; give a folder for the model, "
                        f"like {path.parent / (path.stem + '-model')}")
    check_writable_parent(path, what, inside=True)


def print_problems(problems: Sequence[Any]) -> None:
    """Data problems (:class:`malmoi.data.Problem`), one a line on standard error."""
    for problem in problems:
        print(problem, file=sys.stderr)


# -- errors ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run the command ``args.func``: what the user can fix is printed in one line (data problems: one
    a line) and becomes the exit status; anything else is a bug and keeps its traceback."""
    from malmoi.errors import DataError

    handler: Handler = args.func
    try:
        return handler(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except DataError as exc:
        print_problems(exc.problems)
        print("Fix the errors above and run the command again.", file=sys.stderr)
        return EXIT_FAILED
    except _fixable() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a disk that fills up or a folder that vanishes while writing
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        # A bad --database-url, or a database that cannot be reached.
        if not (hasattr(args, "database_url") and type(exc).__module__.startswith("sqlalchemy")):
            raise
        print(f"error: cannot use the database {args.database_url or DEFAULT_DATABASE}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _fixable() -> tuple[type[Exception], ...]:
    """The errors whose message tells the user what to do. Called only once a command has failed
    (``except`` evaluates its expression then), so a command that succeeds never loads the registry
    or the review loop for their error classes."""
    from malmoi.bots.errors import RegistryError
    from malmoi.errors import ModelLoadError, ModelSaveError, OutputError
    from malmoi.review import ReviewError

    return (ModelLoadError, ModelSaveError, OutputError, RegistryError, ReviewError, UserError)


def check_force_reason(args: argparse.Namespace) -> None:
    """``--reason`` explains a ``--force``; an empty one explains nothing."""
    if args.reason is not None and not args.force:
        raise UserError("--reason says why a model that fails the gate is published anyway: add --force, or leave "
                        "--reason out")
    if args.reason is not None and not args.reason.strip():
        raise UserError('--reason needs a sentence, like --reason "the failing test waits for the new menu"')


def gate_passes(gate: Any, args: argparse.Namespace, *, what: str) -> bool:
    """Say what the gate (:class:`malmoi.review.GateResult`) found; False when the model is refused.

    A model that fails passes only with ``--force --reason``; ``--force`` alone is a usage error.
    """
    if gate.conversations is not None or gate.reviewed:
        print(f"gate: {gate.summary()}", file=sys.stderr)
    if gate.ok:
        return True
    if args.force and args.reason is None:
        raise UserError("the model fails the gate (" + "; ".join(gate.reasons()) + '); --force publishes it only '
                        'with --reason "why", which the version keeps')
    if args.force:
        print("warning: published although " + "; ".join(gate.reasons()) + f" (--force: {args.reason})",
              file=sys.stderr)
        return True
    for line in gate.conversations.failure_lines() if gate.conversations is not None else []:
        print(line)
    print(f"error: refused: {'; '.join(gate.reasons())}. {what}; fix the model or the tests, or publish anyway "
          'with --force --reason "why"', file=sys.stderr)
    return False
