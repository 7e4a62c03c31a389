"""malmoi train --tensorboard DIR and --mlflow URI: every epoch's figures, the settings, the outcome."""

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


@pytest.mark.slow
def test_train_logs_the_run_to_mlflow(make_tiny_bot, tmp_path, monkeypatch):
    """A file store in tmp_path (MLflow 3 refuses one unless MLFLOW_ALLOW_FILE_STORE is set)."""
    import json

    mlflow = pytest.importorskip("mlflow", reason="needs mlflow: pip install 'malmoi[mlflow]'")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = (tmp_path / "mlruns").as_uri()
    bot = make_tiny_bot(training="{epochs: 3, patience: 3, batch_size: 16, refit: false}")
    assert main(["train", str(bot), "--out", str(tmp_path / "model"), "--quiet", "--mlflow", uri]) == 0
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("malmoi").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    model = json.loads((tmp_path / "model" / "model.json").read_text("utf-8"))
    history = model["report"]["history"]
    loss = client.get_metric_history(run.info.run_id, "fit/loss")
    assert [m.step for m in loss] == [h["epoch"] for h in history] == [1, 2, 3]
    assert [m.value for m in loss] == pytest.approx([h["loss"] for h in history], rel=1e-6)
    assert run.data.params["training.epochs"] == "3" and run.data.params["bot"] == "tiny"
    assert run.data.metrics["threshold"] == pytest.approx(model["report"]["calibration"]["threshold"])
    assert "validation/intent_accuracy" in run.data.metrics
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["model.json"]


def test_train_without_mlflow_says_what_to_install(tiny_bot, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    assert main(["train", str(tiny_bot), "--out", str(tmp_path / "m"), "--mlflow", "http://127.0.0.1:1"]) == 2
    assert "pip install 'malmoi[mlflow]'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
