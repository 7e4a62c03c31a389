"""An answer written while the process is killed: the log and both data files agree afterwards.

`ReviewLedger.record` writes data/intents/reviewed.yml, data/ood/reviewed.csv and the log
data/review-log.jsonl. Stopped between any two file-system calls (tests/killing.py), the next
command finds either none of the answers or all of them, in the log and in the files alike, and
the next answer is taken (not refused as a hand-edited file).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from killing import Killer
from malmoi.data import validate_bot
from malmoi.review import INTENTS_FILE, LEDGER, OOD_FILE, Answer, ReviewLedger
from malmoi.review._answers import render_intents, render_ood

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children")

RECORD = """
from malmoi.review import Answer, ReviewLedger
ReviewLedger(bot).record([Answer.from_dict(a) for a in answers])
"""


def _answer(text: str, intent: str | None, ids: list[int], markup: str | None = None) -> dict:
    return {"text": text, "intent": intent, "markup": markup or text, "message_ids": ids, "reviewer": "key:abc",
            "reviewed_at": "2026-12-01T05:00:00Z", "model_version": "tiny@v000001", "bot": "tiny"}


ANSWERS = [_answer("주말에 부산 추워?", "weather", [3, 7], "[주말](DATE)에 [부산](LOCATION) 추워?"),
           _answer("노래 한 곡 틀어줘", None, [5])]


def test_killed_at_every_step_the_log_and_files_agree(tiny_bot: Path, tmp_path: Path) -> None:
    expected = [Answer.from_dict(a) for a in ANSWERS]
    seen = set()
    killer = Killer(["malmoi.review"])
    try:
        for stop_at in range(1, 300):
            bot = tmp_path / "killed"
            shutil.rmtree(bot, ignore_errors=True)
            shutil.copytree(tiny_bot, bot)
            if killer.run(RECORD, {"bot": str(bot), "answers": ANSWERS}, stop_at):
                break
            assert [p for p in validate_bot(bot) if p.severity == "error"] == []  # recovers first
            ledger = ReviewLedger(bot)
            recorded = ledger.answers()
            if recorded:
                assert recorded == expected
                assert (bot / INTENTS_FILE).read_text("utf-8") == render_intents(expected)
                assert (bot / OOD_FILE).read_text("utf-8") == render_ood(expected)
            else:
                assert not (bot / INTENTS_FILE).exists() and not (bot / OOD_FILE).exists()
            seen.add(len(recorded))
            assert [p.name for p in bot.rglob("*") if p.name.endswith(".tmp") or "journal" in p.name] == []
            ledger.record([Answer.from_dict(_answer("우산 챙겨야 할까", "weather", [11]))])  # not refused
            assert len(ledger.answers()) == len(recorded) + 1
        else:
            pytest.fail("the answer was never written")
    finally:
        killer.close()
    assert seen == {0, 2}  # killed before and after the commit point
    assert [json.loads(line)["text"] for line in (bot / LEDGER).read_text("utf-8").splitlines()] == [
        "주말에 부산 추워?", "노래 한 곡 틀어줘"]
