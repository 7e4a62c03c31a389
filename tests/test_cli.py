import json
import subprocess
import sys
from pathlib import Path

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
    command = ["parse", str(tiny_model_dir), "--input", str(source), "--output", str(target), "--batch-size", "2"]
    assert main(command) == 0
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


# Output paths are checked before the work starts: one line, exit 2, no traceback.
def _fail_if_called(*args, **kwargs):
    raise AssertionError("the work started before the output path was checked")


@pytest.fixture
def no_work(monkeypatch):
    """Loading a model or training fails the test: the command must stop before either."""
    import malmoi

    monkeypatch.setattr(malmoi, "load", _fail_if_called)
    monkeypatch.setattr(malmoi, "train", _fail_if_called)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_parse_output_into_a_missing_folder_is_refused_before_loading(tmp_path, capsys, no_work):
    source = tmp_path / "in.txt"
    source.write_text("안녕\n", "utf-8")
    target = tmp_path / "nope" / "out.jsonl"
    assert main(["parse", str(tmp_path / "model"), "--input", str(source), "--output", str(target)]) == 2
    assert f"the folder {tmp_path / 'nope'} does not exist" in _one_line_error(capsys)


def test_parse_output_onto_a_folder_is_refused(tmp_path, capsys, no_work):
    (tmp_path / "in.txt").write_text("안녕\n", "utf-8")
    assert main(["parse", "m", "--input", str(tmp_path / "in.txt"), "--output", str(tmp_path)]) == 2
    assert f"--output {tmp_path} is a folder" in _one_line_error(capsys)


def test_parse_output_onto_its_own_input_is_refused(tmp_path, capsys, no_work):
    source = tmp_path / "in.txt"
    source.write_text("안녕\n", "utf-8")
    assert main(["parse", "m", "--input", str(source), "--output", str(tmp_path / "." / "in.txt")]) == 2
    assert "is the --input file" in _one_line_error(capsys)
    assert source.read_text("utf-8") == "안녕\n"


def test_test_json_into_a_missing_folder_is_refused_before_evaluating(tmp_path, capsys, no_work):
    assert main(["test", "m", str(tmp_path), "--json", str(tmp_path / "nope" / "metrics.json")]) == 2
    assert "--json" in _one_line_error(capsys)


def test_train_out_onto_a_file_is_refused_before_training(tiny_bot, tmp_path, capsys, no_work):
    target = tmp_path / "afile"
    target.write_text("x", "utf-8")
    assert main(["train", str(tiny_bot), "--out", str(target), "--quiet"]) == 2
    assert f"--out {target} is a file" in _one_line_error(capsys)


def test_train_out_under_a_file_is_refused_before_training(tiny_bot, tmp_path, capsys, no_work):
    (tmp_path / "afile").write_text("x", "utf-8")
    assert main(["train", str(tiny_bot), "--out", str(tmp_path / "afile" / "model"), "--quiet"]) == 2
    assert "is a file, not a folder" in _one_line_error(capsys)


class _SavedModel:
    """Stands in for a trained model: records where it is saved and what it was trained on."""

    threshold = 0.5

    def __init__(self, bot):
        self.config, self.data = bot
        self.report = {"train_seconds": 0.0, "validation": {"intent_accuracy": 1.0, "entity_f1": 1.0}}
        self.saved_to = None

    def save(self, out):
        self.saved_to = Path(out)
        return self.saved_to


@pytest.fixture
def fake_train(monkeypatch):
    import malmoi

    trained: list[_SavedModel] = []

    def train(bot, progress=True):
        trained.append(_SavedModel(bot))
        return trained[-1]

    monkeypatch.setattr(malmoi, "train", train)
    return trained


@pytest.mark.parametrize(("name", "folder"), [("/tmp/x", "tmp_x"), ("../../..", "bot"), ("a\\b:c", "a_b_c"),
                                              ("..", "bot"), (".hidden", "hidden"), ("날씨 봇", "날씨 봇")])
def test_train_without_out_saves_under_models_whatever_the_bot_name(tiny_bot, tmp_path, monkeypatch, capsys,
                                                                    fake_train, name, folder):
    text = (tiny_bot / "bot.yaml").read_text("utf-8").replace("name: tiny", f"name: {json.dumps(name)}")
    (tiny_bot / "bot.yaml").write_text(text, "utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(tiny_bot), "--quiet"]) == 0
    (model,) = fake_train
    assert model.config.name == name and model.saved_to == Path("models") / folder
    assert ("choose with --out" in capsys.readouterr().err) == (name != folder)


# Options and the utterance in any order.
@pytest.mark.parametrize("order", [["--batch-size", "8", "{model}", "안녕"], ["{model}", "--batch-size", "8", "안녕"],
                                   ["{model}", "안녕", "--batch-size", "8"]])
def test_parse_takes_options_before_or_after_the_utterance(tiny_model_dir, capsys, order):
    assert main(["parse", *(a.format(model=tiny_model_dir) for a in order)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "안녕"


def test_parse_input_refuses_a_huge_line_without_reading_it_whole(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("안녕\n" + "가" * 200_000 + "\n", "utf-8")
    assert main(["parse", str(tiny_model_dir), "--input", str(source)]) == 2
    assert f"{source}:2: a line of more than 131,072 characters" in _one_line_error(capsys)


# The reserved intent name, at validate and at train.
@pytest.mark.parametrize("command", ["validate", "train"])
def test_an_intent_named_fallback_is_refused(tiny_bot, command, capsys, no_work):
    (tiny_bot / "data" / "intents" / "greeting.csv").rename(tiny_bot / "data" / "intents" / "Fallback.csv")
    assert main([command, str(tiny_bot)]) == 1
    err = capsys.readouterr().err
    assert f"{tiny_bot / 'data' / 'intents' / 'Fallback.csv'}: error: found the intent `Fallback`" in err
    assert "reserves `fallback`" in err and "Traceback" not in err


# --skip-invalid: train on the valid rows, list the others.
BAD_ROWS = "전주 눈 올까,S-LOCATION O\n강원도 춘천 날씨,I-LOCATION E-LOCATION O\n안녕,O\n"


def test_train_refuses_invalid_rows_by_default(tiny_bot, capsys, no_work):
    (tiny_bot / "data" / "intents" / "weather.csv").open("a", encoding="utf-8").write(BAD_ROWS)
    assert main(["train", str(tiny_bot), "--quiet"]) == 1
    assert "--skip-invalid" in capsys.readouterr().err  # the conflict's hint names the way out


def test_train_skip_invalid_trains_on_the_valid_rows_and_lists_the_rest(tiny_bot, tmp_path, capsys, fake_train):
    weather = tiny_bot / "data" / "intents" / "weather.csv"
    with weather.open("a", encoding="utf-8") as handle:
        handle.write(BAD_ROWS)
    assert main(["train", str(tiny_bot), "--skip-invalid", "--out", str(tmp_path / "m"), "--quiet"]) == 0
    err = capsys.readouterr().err
    greeting = tiny_bot / "data" / "intents" / "greeting.csv"
    assert "Left out 4 utterance(s) with errors (--skip-invalid):" in err
    for where in (f"{weather}:82:", f"{weather}:83:", f"{weather}:84:", f"{greeting}:2:"):
        assert where in err
    (model,) = fake_train
    texts = {e.text for e in model.data.examples}
    assert not texts & {"전주 눈 올까", "강원도 춘천 날씨", "안녕"} and "하이" in texts
    assert {(p.file, p.line) for p in model.data.left_out} == {(str(weather), 82), (str(weather), 83),
                                                             (str(weather), 84), (str(greeting), 2)}


def test_validate_accepts_a_bot_of_one_intent(tiny_bot, capsys):
    for name in ("restaurant", "greeting"):
        (tiny_bot / "data" / "intents" / f"{name}.csv").unlink()
    assert main(["validate", str(tiny_bot)]) == 0
    assert "valid (0 warning(s))" in capsys.readouterr().out


@pytest.mark.slow
def test_a_bot_of_one_intent_trains_and_falls_back_outside_it(tiny_bot, tmp_path, capsys):
    for name in ("restaurant", "greeting"):
        (tiny_bot / "data" / "intents" / f"{name}.csv").unlink()
    assert main(["train", str(tiny_bot), "--out", str(tmp_path / "m"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["parse", str(tmp_path / "m"), "내일 부산 날씨 알려줘"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["intent"]["name"] == "weather" and not result["fallback"]
    assert {e["value"] for e in result["entities"]} == {"내일", "부산"}
    assert main(["parse", str(tmp_path / "m"), "노래 틀어줘"]) == 0
    assert json.loads(capsys.readouterr().out)["fallback"]
