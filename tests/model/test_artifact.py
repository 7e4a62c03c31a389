"""Model files: damaged, edited or unreadable files are one clear error, saving is atomic."""

from __future__ import annotations

import json
import os
import shutil
import stat
import weakref
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import malmoi
from malmoi import cli
from malmoi.artifact import MODEL_FILE, WEIGHTS_FILE
from malmoi.errors import ModelLoadError, ModelSaveError
from malmoi.parts import shared

INTENT_WEIGHTS = "intent.safetensors"  # the intent part's arrays (model format 5: one file per part)


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path, monkeypatch):
    # A process reuses an encoder it already holds (same content hash) without reading the file
    # again; these tests are about reading damaged files, so start from a process that holds none.
    monkeypatch.setattr(shared, "_parts", weakref.WeakValueDictionary())
    target = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, target)
    return target


def _parse_cli(model_dir, capsys) -> tuple[int, str]:
    code = cli.main(["parse", str(model_dir), "안녕"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "bytes, but the model was saved with"),
        (lambda data: b"\0" * len(data), "checksum does not match"),
        (lambda data: data[:100] + bytes(255 - b for b in data[100:200]) + data[200:], "checksum does not match"),
        (lambda data: b"", "bytes, but the model was saved with"),
    ],
    ids=["truncated", "zeroed", "flipped", "empty"],
)
@pytest.mark.parametrize(
    "which", ["intent.safetensors", "entity.safetensors", "lexical.safetensors", f"encoder/{WEIGHTS_FILE}"]
)
def test_damaged_weights_are_one_clear_error(model_copy, capsys, damage, message, which):
    path = model_copy / which
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ModelLoadError, match=message):
        malmoi.load(model_copy)
    code, err = _parse_cli(model_copy, capsys)
    assert code == 2 and err.count("\n") == 1 and str(path) in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["parts"]["fallback"]["state"].update(threshold="abc"), "part 'fallback'.*threshold is 'abc'"),
        (lambda m: m["parts"]["fallback"]["state"].update(threshold=None), "threshold is None"),
        (lambda m: m.update(tags=["O", 5]), "`tags.1`"),
        (lambda m: m.update(intents=5), "`intents`"),
        (lambda m: m.update(format_version="5"), "the string '5'; it must be the number 5"),
        (lambda m: m["parts"]["intent"]["weights"].update(sha256="0" * 63), "`parts.intent.weights.sha256`"),
        (lambda m: m["parts"]["encoder"]["state"].update(sha256="f" * 64), "not the one the model was trained on"),
        (lambda m: m["config"]["settings"]["encoder"].update(dim="wide"), "`config.settings.encoder.dim`"),
        (lambda m: m.pop("intents"), "`intents` field required"),
        (lambda m: m["parts"]["intent"].update(kind="nonsense"), "part 'intent' has the unknown kind 'nonsense'"),
        (lambda m: m["parts"]["entity"].update(type="crf.v9"), "no entity tagger named 'crf.v9'"),
        (lambda m: m["parts"]["intent"]["state"].pop("metric"), "part 'intent' does not fit its saved state"),
        (lambda m: m["parts"].pop("encoder"), "expected the parts encoder"),
    ],
)
def test_edited_model_json_is_one_clear_error_naming_the_field(model_copy, capsys, edit, message):
    meta = json.loads((model_copy / MODEL_FILE).read_text("utf-8"))
    edit(meta)
    (model_copy / MODEL_FILE).write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelLoadError, match=message):
        malmoi.load(model_copy)
    code, err = _parse_cli(model_copy, capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "content",
    [b"[" * 200_000 + b"]" * 200_000, b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, b"\xff\xfe{}", b"{", b"[]", b"null"],
    ids=["nested-list", "nested-object", "not-utf8", "cut", "list", "null"],
)
def test_unreadable_model_json_is_one_clear_error(model_copy, capsys, content):
    (model_copy / MODEL_FILE).write_bytes(content)
    code, err = _parse_cli(model_copy, capsys)
    assert code == 2 and err.count("\n") == 1 and str(model_copy / MODEL_FILE) in err and "Traceback" not in err


def _mutations():
    scalar = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=8)
    )
    value = st.recursive(
        scalar,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
        max_leaves=6,
    )
    return st.tuples(st.integers(0, 10_000), value, st.integers(0, 4))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations())
def test_any_mutation_of_the_files_is_a_clean_error_or_a_working_model(
    tiny_model_dir, tmp_path_factory, capsys, mutation
):
    """Property: whatever is done to model.json or the weights, `malmoi parse` answers or says why
    in one line with a non-zero exit; it never shows a traceback."""
    pick, value, kind = mutation
    target = tmp_path_factory.mktemp("mutated") / "model"
    shutil.copytree(tiny_model_dir, target)
    if kind <= 2:  # replace a value somewhere in model.json
        meta = json.loads((target / MODEL_FILE).read_text("utf-8"))
        paths = [p for p in _paths(meta) if p]
        path = paths[pick % len(paths)]
        parent = meta
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = value
        (target / MODEL_FILE).write_text(json.dumps(meta), "utf-8")
    elif kind == 3:  # cut the weights somewhere
        weights = (target / INTENT_WEIGHTS).read_bytes()
        (target / INTENT_WEIGHTS).write_bytes(weights[: pick % len(weights)])
    else:  # overwrite bytes in the weights
        weights = bytearray((target / INTENT_WEIGHTS).read_bytes())
        start = pick % len(weights)
        weights[start : start + 8] = json.dumps(value).encode()[:8].ljust(8, b"x")
        (target / INTENT_WEIGHTS).write_bytes(bytes(weights))
    code = cli.main(["parse", str(target), "안녕"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if code != 0:
        assert code == 2 and captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    else:
        assert json.loads(captured.out)["text"] == "안녕"


def test_saving_is_atomic_and_keeps_the_old_model_when_it_fails(tiny_model, model_copy, monkeypatch):
    before = {p.relative_to(model_copy): p.read_bytes() for p in model_copy.rglob("*") if p.is_file()}

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        tiny_model.save(model_copy)
    monkeypatch.undo()
    after = {p.relative_to(model_copy): p.read_bytes() for p in model_copy.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in model_copy.parent.iterdir()] == ["copy"]  # no staging folder left behind
    malmoi.load(model_copy)


def test_saved_files_follow_the_umask_so_other_users_can_load_them(tiny_model, tmp_path):
    old = os.umask(0o022)
    try:
        model_dir = tiny_model.save(tmp_path / "shared")
    finally:
        os.umask(old)
    modes = {
        p.relative_to(model_dir).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [model_dir, *model_dir.rglob("*")]
    }
    assert modes.pop(".") == 0o755
    assert modes.pop("encoder") == 0o755
    assert set(modes.values()) == {0o644}, modes


def test_saving_onto_a_file_is_refused_before_anything_is_written(tiny_model, tmp_path):
    target = tmp_path / "afile"
    target.write_text("keep me")
    with pytest.raises(ModelSaveError, match="is a file"):
        tiny_model.save(target)
    assert target.read_text() == "keep me"


FORMAT_4 = Path(__file__).parent / "format4"  # made by make_format4.py with malmoi at 8a58b84


def _same_answers(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert (a["text"], a["fallback"], a["entities"]) == (b["text"], b["fallback"], b["entities"])
        assert [s["name"] for s in a["intent_ranking"]] == [s["name"] for s in b["intent_ranking"]]
        assert a["intent"]["name"] == b["intent"]["name"]
        assert [s["confidence"] for s in a["intent_ranking"]] == pytest.approx(
            [s["confidence"] for s in b["intent_ranking"]], rel=1e-5, abs=1e-7)


def test_a_model_saved_in_format_4_loads_and_answers_as_it_did(tmp_path):
    """Models saved before parts saved themselves keep working: read, converted, saved again as format 5."""
    expected = json.loads((FORMAT_4 / "expected.json").read_text("utf-8"))
    old = malmoi.load(FORMAT_4 / "model")
    _same_answers([r.model_dump(mode="json") for r in old.parse_batch(expected["texts"])], expected["answers"])
    assert old.in_domain_scores(expected["texts"]).tolist() == pytest.approx(expected["in_domain"], rel=1e-5)
    resaved = old.save(tmp_path / "format5")
    meta = json.loads((resaved / MODEL_FILE).read_text("utf-8"))
    assert meta["format_version"] == 5 and {"encoder", "intent", "fallback", "entity", "lexical"} <= set(meta["parts"])
    again = malmoi.load(resaved)
    _same_answers([r.model_dump(mode="json") for r in again.parse_batch(expected["texts"])], expected["answers"])
    assert again.threshold == old.threshold


def test_a_model_of_an_unknown_format_says_to_retrain(model_copy):
    meta = json.loads((model_copy / MODEL_FILE).read_text("utf-8"))
    meta["format_version"] = 3
    (model_copy / MODEL_FILE).write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelLoadError, match=r"model format 3; this malmoi reads formats 4 and 5\. Train the model"):
        malmoi.load(model_copy)
