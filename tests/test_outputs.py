"""Commands replace only what malmoi wrote (issue 19, items 1, 7 and 9): a user's folders and files
are refused before any work, a model's every file is covered by checksums, and no credential
reaches a bot directory that malmoi would store."""

import json
import shutil
from pathlib import Path

import pytest

import malmoi
from malmoi.cli import main
from malmoi.errors import ModelLoadError, ModelSaveError
from malmoi.outputs import MANIFEST_FILE, OutputError, check_file, check_folder


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a command starts training: refusals must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the output was checked")

    monkeypatch.setattr(malmoi, "train", refuse)


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_train_out_on_the_bots_parent_folder_keeps_everything(tiny_bot, tmp_path, capsys, no_training):
    parent = tmp_path / "par"
    shutil.copytree(tiny_bot, parent / "bot")
    (parent / "important.txt").write_text("keep me", "utf-8")
    assert main(["train", str(parent / "bot"), "--out", str(parent), "--quiet"]) == 2
    assert "malmoi did not write" in _error(capsys)
    assert (parent / "important.txt").read_text("utf-8") == "keep me"
    assert (parent / "bot" / "bot.yaml").is_file()


def test_train_out_on_the_bot_folder_itself_keeps_the_bot(tiny_bot, capsys, no_training):
    before = sorted(p.relative_to(tiny_bot) for p in tiny_bot.rglob("*"))
    assert main(["train", str(tiny_bot), "--out", str(tiny_bot), "--quiet"]) == 2
    assert "bot.yaml" in _error(capsys)
    assert sorted(p.relative_to(tiny_bot) for p in tiny_bot.rglob("*")) == before


def test_a_model_folder_is_replaced_whole_and_a_foreign_file_in_it_is_refused(tiny_model, tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    check_folder(copy, "model", "--out")  # a model malmoi wrote: may be replaced
    tiny_model.save(copy)
    assert malmoi.load(copy).intents == tiny_model.intents
    (copy / "README.md").write_text("my notes", "utf-8")
    with pytest.raises(ModelSaveError, match=r"files malmoi did not write \(README\.md\)"):
        tiny_model.save(copy)
    assert (copy / "README.md").read_text("utf-8") == "my notes"


def test_saving_a_model_onto_a_users_folder_is_refused(tiny_model, tmp_path):
    folder = tmp_path / "photos"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024" / "a.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ModelSaveError, match="malmoi did not write"):
        tiny_model.save(folder)
    assert (folder / "2024" / "a.jpg").read_bytes() == b"\xff\xd8"


def test_an_empty_folder_and_a_model_saved_before_manifests_may_be_replaced(tiny_model, tmp_path):
    (tmp_path / "empty").mkdir()
    tiny_model.save(tmp_path / "empty")
    legacy = tmp_path / "legacy"
    shutil.copytree(Path(__file__).parent / "model" / "format4" / "model", legacy)  # saved by malmoi at 8a58b84
    assert not (legacy / MANIFEST_FILE).exists()
    assert malmoi.load(legacy).intents == tiny_model.intents  # an older model still loads
    tiny_model.save(legacy)
    assert (legacy / MANIFEST_FILE).is_file()


def test_parse_output_overwrites_only_parse_results(tiny_model_dir, tmp_path, capsys):
    source, target = tmp_path / "in.txt", tmp_path / "out.jsonl"
    source.write_text("안녕\n", "utf-8")
    target.write_text("my own notes\n", "utf-8")
    assert main(["parse", str(tiny_model_dir), "--input", str(source), "--output", str(target)]) == 2
    assert "not a file malmoi wrote" in _error(capsys)
    assert target.read_text("utf-8") == "my own notes\n"
    target.unlink()
    assert main(["parse", str(tiny_model_dir), "--input", str(source), "--output", str(target)]) == 0
    assert main(["parse", str(tiny_model_dir), "--input", str(source), "--output", str(target)]) == 0  # its own


def test_test_json_and_report_overwrite_only_their_own_files(tiny_model_dir, tiny_bot, tmp_path, capsys):
    mine_json, mine_html = tmp_path / "metrics.json", tmp_path / "report.html"
    mine_json.write_text('{"budget": 12}', "utf-8")
    mine_html.write_text("<!DOCTYPE html><html><body>my page</body></html>", "utf-8")
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--json", str(mine_json)]) == 2
    _error(capsys)
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--report", str(mine_html)]) == 2
    _error(capsys)
    assert mine_json.read_text("utf-8") == '{"budget": 12}' and "my page" in mine_html.read_text("utf-8")
    ours = tmp_path / "ours.json"
    assert main(["test", str(tiny_model_dir), str(tiny_bot), "--json", str(ours)]) == 0
    assert json.loads(ours.read_text("utf-8"))["generator"].startswith("malmoi")
    check_file(ours, "--json")  # written by malmoi: may be written again


def test_retrain_out_refuses_a_users_folder_before_training(tiny_bot, tmp_path, capsys, no_training):
    out = tmp_path / "work"
    out.mkdir()
    (out / "plan.txt").write_text("mine", "utf-8")
    command = ["retrain", str(tiny_bot), "--bot", "tiny", "--registry", str(tmp_path / "reg"), "--out", str(out)]
    assert main(command) == 2
    assert "malmoi did not write" in _error(capsys)
    assert (out / "plan.txt").read_text("utf-8") == "mine"


def test_a_file_a_link_or_a_missing_folder_is_one_clear_refusal(tmp_path):
    (tmp_path / "file").write_text("x", "utf-8")
    with pytest.raises(OutputError, match="is a file"):
        check_folder(tmp_path / "file", "model", "--out")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    with pytest.raises(OutputError, match="is a link"):
        check_folder(tmp_path / "link", "model", "--out")
    with pytest.raises(OutputError, match="does not exist"):
        check_file(tmp_path / "nowhere" / "out.json", "--json")


def test_an_edited_model_json_that_keeps_the_schema_is_refused(tiny_model_dir, tmp_path, capsys):
    edited = tmp_path / "edited"
    shutil.copytree(tiny_model_dir, edited)
    meta = json.loads((edited / "model.json").read_text("utf-8"))
    meta["intents"] = meta["intents"][::-1]  # still valid: only the answers change
    (edited / "model.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    with pytest.raises(ModelLoadError, match="changed since malmoi wrote it"):
        malmoi.load(edited)
    assert main(["parse", str(edited), "안녕"]) == 2
    assert "model.json" in _error(capsys)


def test_every_file_of_a_saved_model_is_in_its_manifest(tiny_model_dir):
    manifest = json.loads((tiny_model_dir / MANIFEST_FILE).read_text("utf-8"))
    files = sorted(p.relative_to(tiny_model_dir).as_posix() for p in tiny_model_dir.rglob("*") if p.is_file())
    assert sorted(manifest["files"]) == [f for f in files if f != MANIFEST_FILE]
    assert manifest["kind"] == "model"


def test_validate_refuses_a_literal_webhook_credential_at_its_line(tiny_bot, capsys):
    config = tiny_bot / "bot.yaml"
    config.write_text(config.read_text("utf-8") + (
        "scenarios:\n  weather:\n    entities:\n      LOCATION: {}\n"
        "    webhook:\n      url: http://127.0.0.1:9/weather\n"
        "      headers: {Authorization: \"Bearer sk-live-7f3a9c0d5e1b\"}\n"
        "    answer: \"{LOCATION} 날씨: {summary}\"\n"), "utf-8")
    assert main(["validate", str(tiny_bot)]) == 1
    err = capsys.readouterr().err
    assert "bot.yaml:" in err and "literal credential" in err and "${WEBHOOK_TOKEN}" in err
    assert "sk-live-7f3a9c0d5e1b" not in err  # not even echoed back whole
