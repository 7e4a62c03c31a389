"""What a bot says apart from what it learned: versions carry their bot.yaml, and a dialogue-only
version (``publish --config-only``) changes an answer without retraining, and rolls back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi import testclient

from malmoi.bots import PublishError, Registry
from malmoi.bots.errors import IdenticalModelError
from malmoi.cli import main
from malmoi.serve.builder import create_bots_app


def dialogue_dir(root: Path, greeting: str, extra: str = "") -> Path:
    """A bot directory whose bot.yaml answers greetings with ``greeting``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "bot.yaml").write_text(f"name: tiny\ndialogue:\n  answers:\n    greeting: {greeting}\n{extra}", "utf-8")
    return root


def greeting_answer(registry: Registry, tmp_path: Path) -> str:
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}", require_keys=False)
    with testclient.TestClient(app, base_url="http://localhost") as client:
        answer = client.post("/v1/bots/tiny/chat", json={"user_id": "u1", "text": "안녕하세요"})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["answer"])


def test_a_dialogue_only_version_changes_the_answer_without_copying_the_model_and_rolls_back(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    first = registry.publish(tiny_model_dir, bot="tiny", data=dialogue_dir(tmp_path / "a", "반가워요 A"))
    assert (first.path / "bot.yaml").is_file()
    assert greeting_answer(registry, tmp_path) == "반가워요 A"

    second = registry.publish_config("tiny", dialogue_dir(tmp_path / "b", "반가워요 B"))
    assert (second.version, second.live, second.model_from) == ("v000002", True, "v000001")
    # The weights are the first version's files, not copies.
    for name in ("model.json", "intent.safetensors", "manifest.json"):
        assert os.stat(second.path / name).st_ino == os.stat(first.path / name).st_ino
    assert greeting_answer(registry, tmp_path) == "반가워요 B"

    assert registry.rollback("tiny") == "v000001"
    assert greeting_answer(registry, tmp_path) == "반가워요 A"

    # The same dialogue over the same model again is no new version.
    with pytest.raises(IdenticalModelError, match="v000002"):
        registry.publish_config("tiny", tmp_path / "b", base="v000001")


def test_a_dialogue_that_does_not_fit_the_model_is_refused_and_nothing_is_stored(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(tiny_model_dir, bot="tiny")
    wrong = dialogue_dir(tmp_path / "wrong", "안녕", "scenarios:\n  wether:\n    answer: 맑음\n")
    with pytest.raises(PublishError, match=r"wrong/bot.yaml does not fit the model.*'wether'.*did you mean 'weather'"):
        registry.publish_config("tiny", wrong)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bot.yaml").write_text("name: tiny\ndialogue:\n  answer: {}\n", "utf-8")
    with pytest.raises(PublishError, match=r"broken/bot.yaml:3.*dialogue.answer"):
        registry.publish_config("tiny", broken)
    assert [v.version for v in registry.versions("tiny")] == ["v000001"]


def test_an_edited_stored_dialogue_makes_the_bot_unavailable_not_silently_different(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    info = registry.publish(tiny_model_dir, bot="tiny", data=dialogue_dir(tmp_path / "a", "반가워요 A"))
    stored = info.path / "bot.yaml"
    os.chmod(stored, 0o644)
    stored.write_text(stored.read_text("utf-8").replace("A", "X"), "utf-8")
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 's.sqlite3'}", require_keys=False)
    with testclient.TestClient(app, base_url="http://localhost") as client:
        answer = client.post("/v1/bots/tiny/chat", json={"user_id": "u1", "text": "안녕하세요"})
    assert answer.status_code == 503 and "bot.yaml: changed" in answer.json()["error"]["message"]


def test_publish_config_only_command(tmp_path: Path, tiny_model_dir: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(tiny_model_dir, bot="tiny")
    data = dialogue_dir(tmp_path / "b", "반가워요 B")
    options = ["--bot", "tiny", "--data", str(data), "--registry", str(registry.root)]
    assert main(["publish", "--config-only", *options]) == 0
    out = capsys.readouterr().out
    assert "published tiny v000002 (the dialogue of" in out and "with the model of v000001" in out
    record = json.loads((registry.version_dir("tiny", "v000002") / "PUBLISHED.json").read_text("utf-8"))
    assert record["model_from"] == "v000001" and record["bot_yaml_sha256"]
    # A model directory and --config-only are one or the other.
    assert main(["publish", str(tiny_model_dir), "--config-only", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--config-only takes no model folder" in err
