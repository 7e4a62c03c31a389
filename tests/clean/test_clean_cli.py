"""`malmoi clean BOT_DIR`: a report without --apply, corrected files with backup and diff with it,
clean errors for bad input."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
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
    assert next(iter(flipped))[:30] in out.out  # the table names the utterances (cut to fit 100 columns)
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
    assert changes.set_aside_file.name.startswith("set-aside-")  # one file for every intent's rows
    rows = list(csv.DictReader(changes.set_aside_file.open(encoding="utf-8")))
    assert [(r["question"], r["intent"], r["suggested"]) for r in rows] == [(second.text, second.intent, "weather")]
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


def test_the_diff_applies_with_patch_from_the_bot_directory(noisy_bot, capsys):
    """`patch -p1` run in the bot directory turns the backed-up files into the applied ones."""
    bot, _ = noisy_bot
    assert main(["clean", str(bot), *FAST, "--apply"]) == 0
    capsys.readouterr()
    applied = {p.name: p.read_text("utf-8") for p in (bot / "data" / "intents").iterdir()}
    (backup,) = (bot / "clean").glob("backup-*")
    for saved in backup.iterdir():
        (bot / "data" / "intents" / saved.name).write_bytes(saved.read_bytes())
    (diff,) = (bot / "clean").glob("changes-*.diff")
    done = subprocess.run(["patch", "-p1", "-i", str(diff)], cwd=bot, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name: p.read_text("utf-8") for p in (bot / "data" / "intents").iterdir()} == applied


def test_a_reviewed_list_is_applied_as_edited_without_a_new_analysis(noisy_bot, capsys, monkeypatch):
    bot, flipped = noisy_bot
    assert main(["clean", str(bot), *FAST]) == 0
    capsys.readouterr()
    report_path = bot / "clean" / "suspects.json"
    report = json.loads(report_path.read_text("utf-8"))
    rows = report["suspects"]
    assert {r["decision"] for r in rows} <= {"move", "set_aside", "keep"}
    moved_as_proposed, kept, changed, *_others = (r for r in rows if r["text"] in flipped)
    moved_as_proposed["decision"] = "move"  # the reviewer accepts
    kept["decision"] = "keep"  # the reviewer says no
    changed["decision"], changed["suggested"] = "move", next(i for i in INTENTS if i not in (
        changed["given"], changed["suggested"]))  # ... and knows better than the checker here
    for r in rows:
        if r not in (moved_as_proposed, changed):
            r["decision"] = "keep"
    report_path.write_text(json.dumps(report, ensure_ascii=False), "utf-8")

    import malmoi.clean

    def no_analysis(*args, **kwargs):
        raise AssertionError("--apply FILE must not analyse the data again")

    monkeypatch.setattr(malmoi.clean, "find_label_issues", no_analysis)
    assert main(["clean", str(bot), "--apply", str(report_path)]) == 0
    err = capsys.readouterr().err
    assert "reviewed decision" in err
    _, data = load_bot(bot)
    now = {e.text: e.intent for e in data.examples}
    assert now[moved_as_proposed["text"]] == moved_as_proposed["suggested"]
    assert now[kept["text"]] == kept["given"]
    assert now[changed["text"]] == changed["suggested"]
    assert len(data.examples) == 120


@pytest.mark.parametrize(("edit", "message"), [
    ({"decision": "maybe"}, "decision 'maybe'; expected one of move, set_aside, keep"),
    ({"decision": "move", "suggested": "no_such_intent"}, "not an intent of this bot"),
    ({"rank": None}, "missing or malformed"),
])
def test_a_bad_reviewed_list_names_the_row_and_changes_nothing(noisy_bot, capsys, edit, message):
    bot, _ = noisy_bot
    assert main(["clean", str(bot), *FAST]) == 0
    capsys.readouterr()
    report_path = bot / "clean" / "suspects.json"
    report = json.loads(report_path.read_text("utf-8"))
    report["suspects"][1].update(edit)
    report_path.write_text(json.dumps(report, ensure_ascii=False), "utf-8")
    before = _digest(bot / "data")
    assert main(["clean", str(bot), "--apply", str(report_path)]) == 2
    err = capsys.readouterr().err
    assert f"{report_path}: suspect 2" in err and message in err and "Traceback" not in err
    assert _digest(bot / "data") == before


def test_the_table_fits_100_columns_with_korean_texts_and_long_paths(tmp_path):
    from malmoi.clean import Suspect
    from malmoi.cli.clean import format_suspects
    from malmoi.evaluate import text_width

    bot = tmp_path / "a" / "very" / "long" / "path" / "to" / "the" / "bot"
    source = f"{bot}/data/intents/international_visa_requirements.csv:1234"
    suspects = [Suspect(i, "제주도 가는 비행기 표를 다음 주 금요일 오후로 예약하고 싶은데 가능한 시간 알려줘" * 2,
                        "international_visa_requirements", "book_flight_with_airline_miles", 0.99, 0.876, 6,
                        source, False) for i in range(1, 4)]
    table = format_suspects(suspects, bot)
    assert max(text_width(line) for line in table.splitlines()) <= 100
    assert "international_visa_requirements.csv:1234" not in table or str(bot) not in table
    assert "0.88" in table and "…" in table  # p_suggested shown; the text cut


def test_overlapping_intents_are_reported_and_kept_not_moved():
    from malmoi.clean import Suspect
    from malmoi.clean.decisions import find_overlaps, propose

    def suspect(i, given, suggested, p_suggested):
        return Suspect(i, f"text {i}", given, suggested, 0.8, p_suggested, 4, f"x.csv:{i}", False)

    both_ways = [suspect(1, "refund", "cancel", 0.5), suspect(2, "refund", "cancel", 0.6),
                 suspect(3, "cancel", "refund", 0.55), suspect(4, "cancel", "refund", 0.5)]
    one_way = [suspect(5, "music", "weather", 0.6), suspect(6, "music", "weather", 0.6)]
    confident = [suspect(7, "refund", "cancel", 0.97)]
    (overlap,) = find_overlaps(both_ways + one_way + confident, 0.9)
    assert overlap.intents == ("cancel", "refund") and len(overlap.suspects) == 4
    decisions = dict((s.rank, d) for s, d in propose(both_ways + one_way + confident, 0.9))
    assert decisions == {1: "keep", 2: "keep", 3: "keep", 4: "keep", 5: "set_aside", 6: "set_aside", 7: "move"}
