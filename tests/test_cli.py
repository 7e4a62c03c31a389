import json
import subprocess
import sys

import pytest

from malmoi.cli import main


def test_parse_one_utterance_prints_json(tiny_model_dir, capsys):
    assert main(["parse", str(tiny_model_dir), "내일 서울 날씨 알려줘"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["intent"]["name"] == "weather"
    assert {e["value"] for e in result["entities"]} == {"내일", "서울"}


@pytest.mark.parametrize("as_json", [False, True])
def test_parse_file_writes_one_json_line_per_utterance(tiny_model_dir, tmp_path, capsys, as_json):
    texts = ["내일 서울 날씨 알려줘", "부산 국밥 맛집 추천해줘", "안녕"]
    lines = [json.dumps({"text": t, "id": i}, ensure_ascii=False) for i, t in enumerate(texts)] if as_json else texts
    source, target = tmp_path / "in.txt", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines[:2]) + "\n\n" + lines[2] + "\n", "utf-8")
    assert main(["parse", str(tiny_model_dir), "--input", str(source), "--output", str(target), "--batch-size", "2"]) == 0
    results = [json.loads(line) for line in target.read_text("utf-8").splitlines()]
    assert [r["text"] for r in results] == texts
    assert [r["intent"]["name"] for r in results] == ["weather", "restaurant", "greeting"]
    assert "parsed 3" in capsys.readouterr().err


def test_parse_bad_json_line_names_the_file_and_line(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "안녕"}\n{"txt": "oops"}\n', "utf-8")
    assert main(["parse", str(tiny_model_dir), "--input", str(source)]) == 2
    assert f"{source}:2" in capsys.readouterr().err


def test_parse_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["parse", str(tmp_path / "nope"), "안녕"]) == 2
    err = capsys.readouterr().err
    assert "not a malmoi model" in err and "Traceback" not in err


def test_test_command_prints_a_table_and_writes_json(tiny_model_dir, tiny_bot, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "intent accuracy" in printed and "entity F1" in printed
    metrics = json.loads(out.read_text("utf-8"))
    assert metrics["intent_accuracy"] > 0.9
    assert metrics["entity"]["f1"] > 0.9
    assert 0.0 <= metrics["fallback"]["auroc"] <= 1.0


def test_test_command_prints_a_row_per_entity_type(tiny_model_dir, tiny_bot, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("entity "))
    assert "wrong_type" in header and "wrong_boundary" in header and "missed" in header
    assert {line.split()[0] for line in lines[lines.index(header) + 2 :][:3]} == {"DATE", "LOCATION", "RESTAURANT"}
    entity = json.loads(out.read_text("utf-8"))["entity"]
    assert set(entity["per_type"]) == {"DATE", "LOCATION", "RESTAURANT"}
    assert entity["confusion"]["correct"] == sum(m["correct"] for m in entity["per_type"].values())


def test_validate_reports_problems_and_fails(tiny_bot, capsys):
    (tiny_bot / "data" / "intents" / "weather.csv").write_text("question,label\n내일 서울,S-DATE\n", "utf-8")
    assert main(["validate", str(tiny_bot)]) == 1
    assert "weather.csv:2" in capsys.readouterr().err


def test_validate_accepts_a_valid_bot(tiny_bot, capsys):
    assert main(["validate", str(tiny_bot)]) == 0
    assert "valid" in capsys.readouterr().out


def test_train_command_on_bad_data_prints_problems_without_traceback(tiny_bot, tmp_path, capsys):
    (tiny_bot / "data" / "intents" / "weather.csv").write_bytes("question\n날씨\n".encode("cp949"))
    assert main(["train", str(tiny_bot), "--out", str(tmp_path / "m"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "weather.csv" in err and "UTF-8" in err and "Traceback" not in err


def test_shell_answers_typed_utterances(tiny_model_dir):
    done = subprocess.run(
        [sys.executable, "-m", "malmoi.cli", "shell", str(tiny_model_dir)],
        input="내일 부산 날씨 알려줘\nexit\n", capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "intent: weather" in done.stdout and "LOCATION: '부산'" in done.stdout
