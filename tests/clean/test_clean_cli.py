"""`malmoi clean BOT_DIR`: a report without --apply, corrected files with backup and diff with it,
clean errors for bad input."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from noisy_data import INTENTS, noisy_rows, write_bot

from malmoi.cli import main
from malmoi.data import load_bot
from malmoi.data.transaction import FileTransaction

FAST = ["--rounds", "3", "--splits", "2", "--folds", "4", "--workers", "1"]


def _digest(folder) -> str:
    return hashlib.sha256(b"".join(f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file())).hexdigest()


@pytest.fixture
def noisy_bot(tmp_path):
    rows, flipped = noisy_rows()
    return write_bot(tmp_path / "bot", rows), flipped


def test_clean_reports_suspects_and_edits_nothing(noisy_bot, capsys):
    bot, flipped = noisy_bot
    before = _digest(bot / "data")
    assert main(["clean", str(bot), *FAST]) == 0
    out = capsys.readouterr()
    assert _digest(bot / "data") == before
    report = json.loads((bot / "clean" / "suspects.json").read_text("utf-8"))
    texts = [s["text"] for s in report["suspects"]]
    assert set(flipped) <= set(texts)
    first = report["suspects"][0]
    assert {"given", "suggested", "p_wrong", "times_checked", "neighbours", "source"} <= set(first)
    assert (bot / "clean" / "suspects.csv").read_text("utf-8").startswith("rank,p_wrong,given,suggested")
    assert next(iter(flipped)) in out.out  # the table names the utterances
    assert "Nothing was changed" in out.err


def test_apply_moves_rows_with_backup_and_diff(noisy_bot, capsys):
    bot, flipped = noisy_bot
    originals = {p.name: p.read_text("utf-8") for p in (bot / "data" / "intents").iterdir()}
    assert main(["clean", str(bot), *FAST, "--apply"]) == 0
    capsys.readouterr()
    _, data = load_bot(bot)
    now = {e.text: e.intent for e in data.examples}
    assert all(now[text] == intent for text, intent in flipped.items())
    assert len(data.examples) == 120  # moved, none lost or doubled
    (backup,) = (bot / "clean").glob("backup-*")
    assert {p.name: p.read_text("utf-8") for p in backup.iterdir()} == {
        name: text for name, text in originals.items() if (backup / name).exists()
    }
    assert len(list(backup.iterdir())) == len(INTENTS)  # every intent lost or gained a row
    (diff,) = (bot / "clean").glob("changes-*.diff")
    text = diff.read_text("utf-8")
    assert all(f"-{t}\n" in text and f"+{t}\n" in text for t in flipped)


def test_missing_bot_dir_is_a_clear_error(tmp_path, capsys):
    assert main(["clean", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "no such bot directory" in err and "Traceback" not in err


def test_bad_settings_are_named(noisy_bot, capsys):
    bot, _ = noisy_bot
    assert main(["clean", str(bot), "--folds", "1"]) == 2
    assert "--folds" in capsys.readouterr().err


def test_one_intent_bot_is_refused_with_a_reason(tmp_path, capsys):
    bot = tmp_path / "one"
    (bot / "data" / "intents").mkdir(parents=True)
    (bot / "bot.yaml").write_text("name: one\nlanguage: en\n", "utf-8")
    (bot / "data" / "intents" / "music.csv").write_text("question\n" + "\n".join(f"play song {i}" for i in range(8)))
    assert main(["clean", str(bot), *FAST]) == 2
    assert "2 or more" in capsys.readouterr().err


def test_broken_data_lists_the_problems(tmp_path, capsys):
    bot = tmp_path / "broken"
    (bot / "data" / "intents").mkdir(parents=True)
    (bot / "bot.yaml").write_text("name: broken\nlanguage: [\n", "utf-8")
    assert main(["clean", str(bot)]) == 1
    err = capsys.readouterr().err
    assert "bot.yaml" in err and "Traceback" not in err


def test_confident_out_of_range_is_named(noisy_bot, capsys):
    bot, _ = noisy_bot
    assert main(["clean", str(bot), "--confident", "1.5"]) == 2
    assert "--confident" in capsys.readouterr().err


def test_unconfident_suspects_are_set_aside_not_moved(noisy_bot, tmp_path):
    from malmoi.clean import Suspect
    from malmoi.clean.files import apply_suspects

    bot, _ = noisy_bot
    _, data = load_bot(bot)
    first, second = data.examples[0], data.examples[40]
    suspects = [Suspect(1, first.text, first.intent, "music", 0.97, 0.95, 4, first.source, False),
                Suspect(2, second.text, second.intent, "weather", 0.6, 0.55, 4, second.source, False)]
    changes = apply_suspects(bot, suspects, tmp_path / "out", confident=0.9)
    assert [s.text for s in changes.moved] == [first.text]
    assert [s.text for s in changes.set_aside] == [second.text]
    _, after = load_bot(bot)
    now = {e.text: e.intent for e in after.examples}
    assert now[first.text] == "music" and second.text not in now  # moved; out of the data
    (aside,) = changes.set_aside_dir.iterdir()
    assert aside.name == f"{second.intent}.csv" and second.text in aside.read_text("utf-8")
    assert f"-{second.text}\n" in changes.diff.read_text("utf-8")  # and in the diff


def test_apply_waits_while_another_command_changes_the_bot(noisy_bot, tmp_path):
    from malmoi.clean import Suspect
    from malmoi.clean.files import apply_suspects

    bot, _ = noisy_bot
    _, data = load_bot(bot)
    first = data.examples[0]
    suspect = Suspect(1, first.text, first.intent, "music", 0.97, 0.95, 4, first.source, False)
    before = _digest(bot / "data")
    done = []
    with FileTransaction(bot):  # another writer: a second apply, a review answer
        thread = threading.Thread(target=lambda: done.append(apply_suspects(bot, [suspect], tmp_path / "out")))
        thread.start()
        thread.join(0.5)
        assert thread.is_alive() and _digest(bot / "data") == before
    thread.join(10)
    assert [s.text for s in done[0].moved] == [first.text]


def test_clean_never_overwrites_a_suspects_file_it_did_not_write(noisy_bot, tmp_path, capsys):
    bot, _ = noisy_bot
    out = tmp_path / "out"
    out.mkdir()
    (out / "suspects.csv").write_text("my,own,table\n1,2,3\n", "utf-8")
    assert main(["clean", str(bot), "--out", str(out), *FAST]) == 2
    assert "not a file malmoi wrote" in capsys.readouterr().err
    assert (out / "suspects.csv").read_text("utf-8") == "my,own,table\n1,2,3\n"
    (out / "suspects.csv").unlink()
    assert main(["clean", str(bot), "--out", str(out), *FAST]) == 0
    assert main(["clean", str(bot), "--out", str(out), *FAST]) == 0  # its own files, written again
