"""`malmoi clean --apply` killed at any moment: the next command finds the bot wholly old or wholly new.

The apply runs in a child process (tests/killing.py) on a bot of four intent files, where it
moves seven rows between all four and sets one aside. It is killed two ways: deterministically,
by ``os._exit`` in place of the k-th file-system call that orders the change (rename, fsync,
unlink, mkdir...), for every k until the apply completes; and by real SIGKILLs at times spread
over 0-120 ms after its backup folder appears. After each kill ``malmoi validate`` runs, and
must find the intent files exactly as they were or exactly as a complete apply leaves them, the
report (backup, diff, set-aside file) matching, no error, and no temporary or journal file
anywhere in the bot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from noisy_data import noisy_rows, write_bot

from killing import Killer
from malmoi.cli import main
from malmoi.data import load_bot

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children")

APPLY = """
from pathlib import Path
from malmoi.clean import Suspect
from malmoi.clean.files import apply_suspects
apply_suspects(bot, [Suspect(**s) for s in suspects], Path(bot) / "clean", confident=0.9)
"""


@pytest.fixture(scope="module")
def runner():
    running = Killer(["malmoi.clean.files"])
    yield running
    running.close()


def _job(bot: Path, suspects: list[dict]) -> dict:
    return {"bot": str(bot), "suspects": [{**s, "source": str(bot / s["source"])} for s in suspects]}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, list[dict]]:
    rows, flipped = noisy_rows()
    bot = write_bot(tmp_path_factory.mktemp("kill") / "bot", rows)
    _, data = load_bot(bot)
    source = {e.text: (e.intent, str(Path(e.source).relative_to(bot))) for e in data.examples}
    suspects = []
    for rank, (text, meant) in enumerate(sorted(flipped.items()), 1):
        given, where = source[text]
        sure = 0.5 if rank == 1 else 0.95  # the first one is set aside, the others moved
        suspects.append({"rank": rank, "text": text, "given": given, "suggested": meant, "p_wrong": 0.9,
                         "p_suggested": sure, "times_checked": 4, "source": where, "conflict": False})
    return bot, suspects


def _intent_files(bot: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted((bot / "data" / "intents").iterdir())}


def _report(bot: Path) -> dict[str, str]:
    """The files apply writes beside the data: backup, diff and set-aside, by kind."""
    found = {}
    for path in sorted((bot / "clean").rglob("*")):
        if path.is_file():
            kind = path.relative_to(bot / "clean").parts[0].split("-")[0]
            name = path.name if kind == "backup" else path.suffix  # the others are named by the time
            found[f"{kind}/{name}"] = path.read_text("utf-8")
    return found


def _leftovers(bot: Path) -> list[str]:
    return [str(p.relative_to(bot)) for p in bot.rglob("*")
            if p.name.endswith(".tmp") or p.name.startswith(".malmoi-journal")]


def _fresh(template: Path, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(template, into)
    return into


@pytest.fixture(scope="module")
def states(template, runner, tmp_path_factory) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The intent files before and after a complete apply, and the report a complete apply writes."""
    bot = _fresh(template[0], tmp_path_factory.mktemp("complete") / "bot")
    old = _intent_files(bot)
    assert runner.run(APPLY, _job(bot, template[1]))
    new = _intent_files(bot)
    assert new != old and set(new) == set(old)
    return old, new, _report(bot)


def _check_recovered(bot: Path, states, capsys) -> str:
    """Run `malmoi validate` on a killed bot; check it is wholly old or wholly new; which one."""
    old, new, report = states
    capsys.readouterr()
    assert main(["validate", str(bot)]) == 0, capsys.readouterr().err
    now = _intent_files(bot)
    assert now in (old, new), "half-applied: " + ", ".join(n for n in now if now[n] not in (old[n], new[n]))
    assert _leftovers(bot) == []
    if now == new:
        assert _report(bot) == report  # the backup, the diff and the set-aside file, all whole
        return "new"
    assert _report(bot) == {}
    return "old"


def test_killed_at_every_step_the_bot_is_wholly_old_or_new(template, runner, states, tmp_path, capsys):
    outcomes = []
    for stop_at in range(1, 500):
        bot = _fresh(template[0], tmp_path / "bot")
        if runner.run(APPLY, _job(bot, template[1]), stop_at):
            break  # every call of a complete apply has been a stopping point
        journal = (bot / ".malmoi-journal.json").exists()
        outcomes.append(_check_recovered(bot, states, capsys))
        if journal:
            assert "killed before" in capsys.readouterr().err  # the user is told what was done
    else:
        pytest.fail("the apply never completed")
    # Both sides of the commit point were reached, and kills there were finished or undone.
    assert outcomes.count("old") >= 5 and outcomes.count("new") >= 5, outcomes


def test_sigkilled_after_the_backup_appears_the_bot_is_wholly_old_or_new(template, runner, states, tmp_path,
                                                                         capsys):
    delays = [0.0, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.012, 0.02, 0.03, 0.045, 0.06, 0.08, 0.1,
              0.12]
    for delay in delays:
        bot = _fresh(template[0], tmp_path / "bot")
        pid = runner.start(APPLY, _job(bot, template[1]))
        deadline = time.monotonic() + 10
        while not any((bot / "clean").glob("backup-*")):
            assert time.monotonic() < deadline, "the apply never made its backup folder"
            time.sleep(0.0001)
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):  # it had finished
            os.kill(pid, signal.SIGKILL)
        status = runner.wait()
        assert os.WIFEXITED(status) or os.WTERMSIG(status) == signal.SIGKILL
        _check_recovered(bot, states, capsys)
