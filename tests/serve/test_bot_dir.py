"""`malmoi serve MODEL --bot-dir BOT_DIR`: the bot says what BOT_DIR's bot.yaml says, without retraining;
without it, what the model saved at training (as before)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi import testclient

from malmoi.cli import main
from malmoi.serve.builder import create_app


def greeting(model_dir: Path, tmp_path: Path, bot_dir: Path | None = None) -> str:
    app = create_app(model_dir, database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}", bot_dir=bot_dir)
    with testclient.TestClient(app, base_url="http://localhost") as client:
        answer = client.post("/v1/chat", json={"user_id": "u1", "text": "안녕하세요"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["answer"])


def test_the_bot_directory_says_what_the_bot_says(chat_model_dir: Path, tmp_path: Path) -> None:
    assert greeting(chat_model_dir, tmp_path) == "안녕하세요!"  # saved in the model at training
    bot_dir = tmp_path / "bot"
    bot_dir.mkdir()
    (bot_dir / "bot.yaml").write_text("name: tiny\ndialogue:\n  answers:\n    greeting: 또 오셨네요\n", "utf-8")
    assert greeting(chat_model_dir, tmp_path, bot_dir) == "또 오셨네요"


def test_a_bot_directory_that_does_not_fit_the_model_stops_the_start_in_one_line(
        chat_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot_dir = tmp_path / "bot"
    bot_dir.mkdir()
    (bot_dir / "bot.yaml").write_text("name: tiny\nscenarios:\n  wether:\n    answer: 맑음\n", "utf-8")
    assert main(["serve", str(chat_model_dir), "--bot-dir", str(bot_dir), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'wether'" in err and "did you mean 'weather'" in err and str(bot_dir) in err
    (bot_dir / "bot.yaml").write_text("name: tiny\ndialogue:\n  cancel_word: [그만]\n", "utf-8")
    assert main(["serve", str(chat_model_dir), "--bot-dir", str(bot_dir), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bot.yaml:3" in err and "cancel_word" in err
