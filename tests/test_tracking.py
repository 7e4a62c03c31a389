"""malmoi train --tensorboard DIR: every epoch's figures as TensorBoard scalars."""

from __future__ import annotations

import sys

import pytest

from malmoi.cli import main
from malmoi.tracking import tensorboard_available


@pytest.mark.slow
@pytest.mark.skipif(not tensorboard_available(), reason="needs tensorboard: pip install 'malmoi[tensorboard]'")
def test_train_writes_each_epoch_for_tensorboard(make_tiny_bot, tmp_path):
    import json

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    bot = make_tiny_bot(training="{epochs: 3, patience: 3, batch_size: 16, refit: false}")
    runs = tmp_path / "runs"
    assert main(["train", str(bot), "--out", str(tmp_path / "model"), "--quiet", "--tensorboard", str(runs)]) == 0
    events = EventAccumulator(str(runs)).Reload()
    history = json.loads((tmp_path / "model" / "model.json").read_text("utf-8"))["report"]["history"]
    loss = events.Scalars("fit/loss")
    assert [e.step for e in loss] == [h["epoch"] for h in history] == [1, 2, 3]
    assert [e.value for e in loss] == pytest.approx([h["loss"] for h in history], rel=1e-5)
    assert {"fit/validation_loss", "fit/intent_accuracy", "fit/entity_f1", "model/threshold"} <= set(
        events.Tags()["scalars"])


def test_train_without_tensorboard_says_what_to_install(tiny_bot, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    assert main(["train", str(tiny_bot), "--out", str(tmp_path / "m"), "--tensorboard", str(tmp_path / "runs")]) == 2
    assert "pip install 'malmoi[tensorboard]'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
