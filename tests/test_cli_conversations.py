"""`malmoi test MODEL BOT_DIR --conversations [--junit]`, `malmoi validate` on conversation files, and
`malmoi test` saying when its data is the model's training data (the tiny model of conftest.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from malmoi.cli import main

PASSING = """conversations:
  - name: weather
    steps:
      - user: 내일 서울 날씨 알려줘
        intent: weather
        entities: {LOCATION: 서울, DATE: 내일}
  - name: out of domain
    steps:
      - user: 노래 틀어줘
        intent: fallback
"""
FAILING = """conversations:
  - name: greeting taken for weather
    steps:
      - user: 안녕하세요
        intent: weather
"""


def conversations(bot: Path, **files: str) -> Path:
    folder = bot / "test" / "conversations"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yml").write_text(text, "utf-8")
    return folder


def test_passing_conversations_exit_0_and_write_junit(tiny_model_dir, tiny_bot, tmp_path, capsys) -> None:
    conversations(tiny_bot, weather=PASSING)
    junit = tmp_path / "junit.xml"
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--conversations", "--junit", str(junit)]) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("2", "0")
    # a second run may overwrite its own file
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--conversations", "--junit", str(junit)]) == 0


def test_a_failing_conversation_exits_1_naming_it(tiny_model_dir, tiny_bot, tmp_path, capsys) -> None:
    conversations(tiny_bot, weather=PASSING, greeting=FAILING)
    junit = tmp_path / "junit.xml"
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--conversations", "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "FAIL greeting taken for weather" in out and "greeting.yml:4" in out
    assert "intent: expected weather, got greeting" in out
    assert ET.parse(junit).getroot().get("failures") == "1"


def test_junit_never_overwrites_a_file_malmoi_did_not_write(tiny_model_dir, tiny_bot, tmp_path, capsys) -> None:
    conversations(tiny_bot, weather=PASSING)
    mine = tmp_path / "notes.xml"
    mine.write_text("<notes>mine</notes>\n", "utf-8")
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--conversations", "--junit", str(mine)]) == 2
    assert mine.read_text("utf-8") == "<notes>mine</notes>\n"


def test_usage_errors_exit_2(tiny_model_dir, tiny_bot, tmp_path, capsys) -> None:
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--conversations"]) == 2  # no folder of them
    assert "test/conversations" in capsys.readouterr().err
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--junit", str(tmp_path / "j.xml")]) == 2
    assert "--conversations" in capsys.readouterr().err


def test_a_broken_conversation_file_exits_1_with_file_and_line(tiny_model_dir, tiny_bot, capsys) -> None:
    folder = conversations(tiny_bot, bad="conversations:\n  - name: a\n    stpes: []\n")
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--conversations"]) == 1
    err = capsys.readouterr().err
    assert f"{folder / 'bad.yml'}:3" in err and "Traceback" not in err


def test_validate_checks_conversations_against_the_bots_intents(tiny_bot, capsys) -> None:
    folder = conversations(tiny_bot, weather=PASSING.replace("intent: weather", "intent: wether"))
    assert main(["validate", str(tiny_bot)]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert f"{folder / 'weather.yml'}:5" in text and "did you mean `weather`" in text
    (folder / "weather.yml").write_text(PASSING, "utf-8")
    assert main(["validate", str(tiny_bot)]) == 0


def test_testing_on_the_training_data_says_so(tiny_model_dir, tiny_bot, tmp_path, capsys) -> None:
    # tiny_bot is the very data tiny_model trained on
    assert main(["test", str(tiny_model_dir), str(tiny_bot)]) == 0
    err = capsys.readouterr().err
    assert "are the model's training data" in err and "malmoi split" in err
    held_out = tmp_path / "held"
    (held_out / "data" / "intents").mkdir(parents=True)
    (held_out / "bot.yaml").write_text("name: held\nmin_examples_per_intent: 1\n", "utf-8")
    (held_out / "data" / "intents" / "greeting.yml").write_text("intents:\n  greeting:\n    - 안녕히 계세요\n"
                                                                 "    - 좋은 저녁\n", "utf-8")
    assert main(["test", str(tiny_model_dir), str(held_out)]) == 0
    assert "training data" not in capsys.readouterr().err
