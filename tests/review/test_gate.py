"""The gate before a model goes live (malmoi.review): `publish --data` and `retrain` refuse a model that
fails a conversation test or answers a reviewed utterance otherwise than the reviewer (exit 3, naming
them); `--force --reason` publishes it and the version keeps the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from malmoi.cli import EXIT_REFUSED, main
from malmoi.review import INTENTS_FILE, LEDGER, OOD_FILE, Answer, ReviewLedger, check_gate, reviewed_answers

PASSING = """conversations:
  - name: weather
    steps:
      - user: 내일 서울 날씨 알려줘
        intent: weather
"""
FAILING = """conversations:
  - name: greeting taken for weather
    steps:
      - user: 안녕하세요
        intent: weather
"""


def conversations(bot: Path, **files: str) -> None:
    folder = bot / "test" / "conversations"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yml").write_text(text, "utf-8")


def answers(*reviewed: tuple[str, str | None]) -> list[Answer]:
    return [Answer(text=text, intent=intent, markup=text, message_ids=(number,), reviewer="key:abc",
                   reviewed_at="2026-12-01T05:00:00Z", model_version="tiny@v000001", bot="tiny")
            for number, (text, intent) in enumerate(reviewed, 1)]


def review(bot: Path, *reviewed: tuple[str, str | None]) -> None:
    ReviewLedger(bot).record(answers(*reviewed))


def logged(bot: Path, *reviewed: tuple[str, str | None]) -> None:
    """Answers in the review log only: a reviewer's answer that the training data now contradicts
    (`review answer` itself refuses such an answer), the files written from the log deleted."""
    (bot / LEDGER).write_text("".join(json.dumps(a.to_dict(), ensure_ascii=False) + "\n"
                                      for a in answers(*reviewed)), "utf-8")


def published(registry: Path, version: str = "v000001") -> dict:
    return json.loads((registry / "bots" / "tiny" / "versions" / version / "PUBLISHED.json").read_text("utf-8"))


# -- publish ---------------------------------------------------------------------------------------


def test_publish_refuses_a_model_that_fails_a_conversation_test(tiny_model_dir, tiny_bot, tmp_path, capsys) -> None:
    conversations(tiny_bot, weather=PASSING, greeting=FAILING)
    registry = tmp_path / "registry"
    command = ["publish", str(tiny_model_dir), "--bot", "tiny", "--data", str(tiny_bot), "--registry", str(registry)]
    assert main(command) == EXIT_REFUSED
    out = capsys.readouterr()
    assert "greeting taken for weather" in out.err and "greeting.yml:2" in out.err
    assert "intent: expected weather, got greeting" in out.out
    assert not (registry / "bots" / "tiny" / "versions").exists() or not any(
        (registry / "bots" / "tiny" / "versions").iterdir())

    assert main([*command, "--force"]) == 2  # --force alone does not say why
    assert "--reason" in capsys.readouterr().err
    assert main([*command, "--reason", "menu changes next week"]) == 2  # a reason without --force
    assert main([*command, "--force", "--reason", "menu changes next week"]) == 0
    gate = published(registry)["gate"]
    assert gate["passed"] is False and gate["forced"] == {"reason": "menu changes next week"}
    assert gate["conversations"]["failed"][0].startswith("greeting taken for weather")


def test_publish_accepts_a_model_that_passes(tiny_model_dir, tiny_bot, tmp_path, capsys) -> None:
    conversations(tiny_bot, weather=PASSING)
    registry = tmp_path / "registry"
    assert main(["publish", str(tiny_model_dir), "--bot", "tiny", "--data", str(tiny_bot), "--registry",
                 str(registry)]) == 0
    gate = published(registry)["gate"]
    assert gate["passed"] is True and gate["conversations"] == {"total": 1, "failed": []} and "forced" not in gate


# -- reviewed utterances ---------------------------------------------------------------------------


def test_reviewed_answers_come_from_the_log_even_when_the_files_are_deleted(tiny_bot) -> None:
    review(tiny_bot, ("우산 챙겨야 할까", "weather"), ("노래 한 곡 틀어줘", None))
    assert reviewed_answers(tiny_bot) == {"우산 챙겨야 할까": "weather", "노래 한 곡 틀어줘": None}
    (tiny_bot / INTENTS_FILE).unlink()
    (tiny_bot / OOD_FILE).unlink()
    assert reviewed_answers(tiny_bot) == {"우산 챙겨야 할까": "weather", "노래 한 곡 틀어줘": None}


def test_the_gate_names_each_reviewed_utterance_answered_otherwise(tiny_model, tiny_bot) -> None:
    logged(tiny_bot, ("내일 서울 날씨 알려줘", "weather"), ("안녕", "weather"), ("노래 틀어줘", None),
           ("서울 김밥 맛집 추천해줘", None))
    gate = check_gate(tiny_model, tiny_bot, reviewed=True)
    assert gate.reviewed == 4 and not gate.ok
    assert [(m.text, m.expected, m.got) for m in gate.reviewed_misses] == [
        ("안녕", "weather", "greeting"), ("서울 김밥 맛집 추천해줘", "fallback", "restaurant")]
    assert "2 of 4 reviewed utterance(s) are not answered as reviewed" in gate.reasons()[0]
    assert check_gate(tiny_model, tiny_bot).reviewed == 0  # publish's gate: conversation tests only


# -- retrain ---------------------------------------------------------------------------------------


@pytest.fixture
def retrain_bot(tiny_bot, tiny_model_dir, monkeypatch) -> Path:
    """tiny_bot with held-out test data; "training" gives the tiny model at once."""
    import malmoi

    test = tiny_bot / "test"
    (test / "data" / "intents").mkdir(parents=True)
    (test / "bot.yaml").write_text("name: tiny-test\nmin_examples_per_intent: 1\n", "utf-8")
    greeting = "intents:\n  greeting:\n    - 안녕\n    - 반가워\n"
    (test / "data" / "intents" / "greeting.yml").write_text(greeting, "utf-8")
    monkeypatch.setattr(malmoi, "train", lambda *args, **kwargs: malmoi.load(tiny_model_dir))
    return tiny_bot


def test_retrain_refuses_a_candidate_that_answers_a_reviewed_utterance_otherwise(retrain_bot, tmp_path,
                                                                                   capsys) -> None:
    logged(retrain_bot, ("내일 서울 날씨 알려줘", "weather"), ("안녕", "weather"))
    registry, run = tmp_path / "registry", tmp_path / "run"
    command = ["retrain", str(retrain_bot), "--registry", str(registry), "--bot", "tiny", "--quiet"]
    assert main([*command, "--out", str(run)]) == EXIT_REFUSED
    out = capsys.readouterr()
    assert "NOT AS REVIEWED  '안녕': reviewed as weather, answered greeting" in out.out
    assert "1 of 2 reviewed utterance(s) are not answered as reviewed" in out.err and "Traceback" not in out.err
    decision = json.loads((run / "decision.json").read_text("utf-8"))
    assert decision["published"] is None
    assert [m["text"] for m in decision["gate"]["reviewed"]["not_answered_as_reviewed"]] == ["안녕"]
    assert any("reviewed utterance" in r for r in decision["refused"])
    assert not (registry / "bots" / "tiny" / "versions").exists()

    assert main([*command, "--out", str(tmp_path / "run2"), "--force", "--reason", "greeting is fine"]) == 0
    assert published(registry)["gate"]["forced"] == {"reason": "greeting is fine"}


def test_retrain_refuses_a_failing_conversation_test(retrain_bot, tmp_path, capsys) -> None:
    conversations(retrain_bot, weather=PASSING, greeting=FAILING)
    run = tmp_path / "run"
    assert main(["retrain", str(retrain_bot), "--registry", str(tmp_path / "registry"), "--bot", "tiny", "--quiet",
                 "--out", str(run)]) == EXIT_REFUSED
    assert "1 conversation test(s) fail: greeting taken for weather" in capsys.readouterr().err
    decision = json.loads((run / "decision.json").read_text("utf-8"))
    assert decision["gate"]["conversations"]["failed"][0].startswith("greeting taken for weather")


def test_retrain_stops_before_training_on_a_broken_conversation_file(retrain_bot, tmp_path, monkeypatch,
                                                                      capsys) -> None:
    import malmoi

    conversations(retrain_bot, bad="conversations:\n  - name: a\n    stpes: []\n")
    monkeypatch.setattr(malmoi, "train", lambda *a, **k: pytest.fail("trained before reading the tests"))
    assert main(["retrain", str(retrain_bot), "--registry", str(tmp_path / "registry"), "--bot", "tiny",
                 "--quiet"]) == 1
    assert "bad.yml:3" in capsys.readouterr().err
    shutil.rmtree(retrain_bot / "test" / "conversations")
