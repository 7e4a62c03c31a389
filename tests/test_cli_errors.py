"""The command line's one error mapper: what the user can fix is one line and an exit status; a bug
keeps its traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from malmoi.bots import RegistryError
from malmoi.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UserError, main
from malmoi.cli._common import EXIT_INTERRUPTED, run
from malmoi.data import Problem
from malmoi.errors import DataError, ModelLoadError, ModelSaveError, OutputError
from malmoi.review import ReviewError


def _raising(exc: BaseException, **options: object) -> argparse.Namespace:
    def handler(args: argparse.Namespace) -> int:
        raise exc

    return argparse.Namespace(func=handler, **options)


@pytest.mark.parametrize("exc", [
    UserError("--limit must be at least 1"),
    ModelLoadError("m: not a malmoi model"),
    ModelSaveError("m: cannot save"),
    OutputError("--out x is a file"),
    RegistryError("weather has no earlier live version"),
    ReviewError("message 3 is already reviewed"),
])
def test_a_mistake_the_user_can_fix_is_one_line_and_exit_2(exc: Exception, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_raising(exc)) == EXIT_USAGE
    assert capsys.readouterr().err == f"error: {exc}\n"


def test_data_problems_are_listed_one_a_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    problems = [Problem("bot/a.csv", 3, "'x'", "an intent"), Problem("bot.yaml", None, "'y'", "a language")]
    assert run(_raising(DataError(problems))) == EXIT_FAILED
    assert capsys.readouterr().err.splitlines() == [
        "bot/a.csv:3: error: found 'x'; expected an intent.", "bot.yaml: error: found 'y'; expected a language.",
        "Fix the errors above and run the command again."]


def test_a_failing_disk_names_the_file_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_raising(OSError(28, "No space left on device", "models/x/weights.safetensors"))) == EXIT_FAILED
    assert capsys.readouterr().err == "error: No space left on device (models/x/weights.safetensors)\n"


def test_ctrl_c_exits_130_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_raising(KeyboardInterrupt())) == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == ""


def test_a_bug_keeps_its_traceback() -> None:
    with pytest.raises(ZeroDivisionError):
        run(_raising(ZeroDivisionError("division by zero"), database_url=None))


def test_a_database_error_is_named_only_for_a_command_with_a_database() -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    with pytest.raises(sqlalchemy.exc.ArgumentError):  # `malmoi train` has no --database-url: a bug, not a URL
        run(_raising(sqlalchemy.exc.ArgumentError("bad")))


@pytest.mark.parametrize("command", ["review", "serve"])
def test_a_database_url_that_does_not_work_is_one_line(command: str, tiny_model_dir: Path, tiny_bot: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sqlalchemy")
    if command == "serve":
        pytest.importorskip("fastapi", reason="the server needs the serve extra: pip install 'malmoi[serve]'")
        argv = ["serve", str(tiny_model_dir)]
    else:
        argv = ["review", "list", str(tiny_bot), "--model", str(tiny_model_dir)]
    assert main([*argv, "--database-url", "nosuchdatabase://x"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: cannot use the database nosuchdatabase://x: ") and err.count("\n") == 1


def test_the_handler_s_exit_status_is_the_command_s() -> None:
    assert run(argparse.Namespace(func=lambda args: EXIT_OK)) == EXIT_OK
    assert run(argparse.Namespace(func=lambda args: 3)) == 3
