"""Several files replaced all or none (malmoi.data.transaction), and the loader finishing what a killed
command left."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from killing import Killer
from malmoi.cli import main
from malmoi.data import validate_bot
from malmoi.data.transaction import JOURNAL, FileTransaction, TransactionError, write_atomic

BOT_YAML = "name: t\nlanguage: en\n"
WEATHER = "question\n" + "".join(f"weather in city {i}\n" for i in range(6))
MUSIC = "question\n" + "".join(f"play song {i}\n" for i in range(6))
ALARM = "question\n" + "".join(f"set an alarm at {i}\n" for i in range(6))


def _bot(root: Path) -> Path:
    (root / "data" / "intents").mkdir(parents=True)
    (root / "bot.yaml").write_text(BOT_YAML, "utf-8")
    for name, text in [("weather", WEATHER), ("music", MUSIC), ("alarm", ALARM)]:
        (root / "data" / "intents" / f"{name}.csv").write_text(text, "utf-8")
    return root


def _change(bot: Path) -> dict[Path, str | None]:
    """Rewrite one file, delete one, add one in a new folder."""
    intents = bot / "data" / "intents"
    return {intents / "weather.csv": WEATHER + "weather in city 99\n", intents / "alarm.csv": None,
            bot / "data" / "ood" / "ood.csv": "question\ntell me a joke\n",
            intents / "music.csv": MUSIC.replace("play song 0", "play a song")}


def _state(bot: Path) -> dict[str, str]:
    return {str(p.relative_to(bot)): p.read_text("utf-8") for p in sorted((bot / "data").rglob("*")) if p.is_file()}


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".malmoi-journal")]


def test_commit_replaces_deletes_and_adds_every_file(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "bot")
    os.chmod(bot / "data" / "intents" / "weather.csv", 0o640)
    with FileTransaction(bot) as change:
        change.commit(_change(bot))
    assert _state(bot) == {
        "data/intents/weather.csv": WEATHER + "weather in city 99\n", "data/ood/ood.csv": "question\ntell me a joke\n",
        "data/intents/music.csv": MUSIC.replace("play song 0", "play a song")}
    assert (bot / "data" / "intents" / "weather.csv").stat().st_mode & 0o777 == 0o640  # its permissions kept
    assert _leftovers(bot) == []
    assert validate_bot(bot) == []


def test_write_atomic_uses_a_name_of_its_own(tmp_path: Path) -> None:
    stale = tmp_path / ".report.csv.tmp"  # what the old fixed-name writer left, or another writer's
    stale.write_text("someone else's", "utf-8")
    write_atomic(tmp_path / "report.csv", "a,b\n")
    assert (tmp_path / "report.csv").read_text("utf-8") == "a,b\n" and stale.read_text("utf-8") == "someone else's"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children")
def test_stopped_at_every_step_the_loader_finishes_or_undoes_the_change(tmp_path: Path) -> None:
    template = _bot(tmp_path / "template")
    old = _state(template)
    code = ("from pathlib import Path\nfrom malmoi.data.transaction import FileTransaction\n"
            "with FileTransaction(bot) as change:\n"
            "    change.commit({Path(p): t for p, t in files})\n")
    killer = Killer(["malmoi.data.transaction"])
    try:
        outcomes = []
        for stop_at in range(1, 200):
            bot = tmp_path / "bot"
            shutil.rmtree(bot, ignore_errors=True)
            shutil.copytree(template, bot)
            files = [(str(p), t) for p, t in _change(bot).items()]
            if killer.run(code, {"bot": str(bot), "files": files}, stop_at):
                new = _state(bot)
                break
            journal = (bot / JOURNAL).exists()
            problems = validate_bot(bot)  # recovers
            assert [p.severity for p in problems] == (["warning"] if journal else [])
            assert _leftovers(bot) == []
            outcomes.append((_state(bot), problems[0].hint.split(":")[0] if journal else ""))
        else:
            pytest.fail("the change never completed")
    finally:
        killer.close()
    assert {hint for state, hint in outcomes if state == old} <= {"", "it is undone"}
    assert {hint for state, hint in outcomes if state == new} <= {"", "it is finished now"}
    assert all(state in (old, new) for state, _ in outcomes)
    assert {"it is undone", "it is finished now"} <= {hint for _, hint in outcomes}


def test_a_damaged_journal_is_an_error_that_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot = _bot(tmp_path / "bot")
    (bot / JOURNAL).write_text("{not json", "utf-8")
    (problem,) = validate_bot(bot)
    assert problem.severity == "error" and problem.file == str(bot / JOURNAL)
    assert "restore the data files from the change's backup and delete the journal" in problem.hint
    assert main(["validate", str(bot)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_stray_temporary_files_are_not_read(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "bot")
    (bot / "data" / "intents" / ".weather.csv.1a2b3c.x7.tmp").write_text("question\nnot data\n", "utf-8")
    assert validate_bot(bot) == []


COUNT = """
import sys
from pathlib import Path
from malmoi.data.transaction import FileTransaction
bot = Path(sys.argv[1])
for _ in range(25):
    with FileTransaction(bot) as change:
        count = int((bot / "count").read_text())
        change.commit({bot / "count": str(count + 1)})
"""


def test_changes_from_two_processes_run_one_after_the_other(tmp_path: Path) -> None:
    (tmp_path / "count").write_text("0")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    writers = [subprocess.Popen([sys.executable, "-c", COUNT, str(tmp_path)], env=env) for _ in range(2)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    assert (tmp_path / "count").read_text() == "50"  # no read-modify-write lost


def test_a_held_lock_is_waited_for_then_named(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "bot")
    errors: list[str] = []

    def second() -> None:
        try:
            with FileTransaction(bot, timeout=0.2):
                pass
        except TransactionError as exc:
            errors.append(str(exc))

    with FileTransaction(bot):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(errors) == 1 and "another malmoi command is changing the files of" in errors[0]
    assert ".malmoi.lock" in errors[0]


def test_a_journal_cannot_make_the_loader_touch_files_outside_the_bot(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "bot")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", "utf-8")
    for path in [str(victim), "../victim.txt", "data/../../victim.txt"]:
        journal = {"format": "malmoi-transaction-1", "id": "0123456789ab", "state": "committed", "note": "",
                   "backup": None, "files": [{"path": path, "temporary": None, "sha256": None}]}
        (bot / JOURNAL).write_text(json.dumps(journal), "utf-8")
        (problem,) = validate_bot(bot)
        assert problem.severity == "error" and "not a journal this version of malmoi wrote" in problem.found
        assert victim.read_text("utf-8") == "keep me"
    with pytest.raises(TransactionError, match="not a journal"):  # no change until it is dealt with
        FileTransaction(bot).__enter__()
    (bot / JOURNAL).unlink()
    with FileTransaction(bot) as change, pytest.raises(ValueError, match="inside"):
        change.commit({victim: None})
