"""`malmoi test BOT_DIR --cross-validate K`: every utterance scored once by a model that never saw it,
each figure's mean ± sd over the folds, per-intent F1, JSON and a report section."""

from __future__ import annotations

import json
import math

import pytest

from malmoi.cli import main
from malmoi.crossval import mean_sd
from malmoi.data import load_bot

FAST = "{epochs: 3, patience: 3, batch_size: 32}"


def test_mean_sd_is_the_sample_standard_deviation() -> None:
    assert mean_sd([0.8, 0.9, 1.0]) == pytest.approx((0.9, 0.1))
    assert mean_sd([0.5]) == (0.5, 0.0)


def test_cross_validation_scores_every_utterance_once(make_tiny_bot, tmp_path, capsys) -> None:
    bot = make_tiny_bot(training=FAST, encoder="{dim: 16, layers: 1}")
    _, data = load_bot(bot)
    out = tmp_path / "cv.json"
    report = tmp_path / "cv.html"
    command = ["test", str(bot), "--cross-validate", "2", "--json", str(out)]
    try:
        import plotly  # noqa: F401

        command += ["--report", str(report)]
    except ImportError:
        report = None
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert "2-fold cross-validation" in printed and "fold 1" in printed and "fold 2" in printed
    for intent in ("weather", "restaurant", "greeting"):
        assert intent in printed
    document = json.loads(out.read_text("utf-8"))
    folds = document["folds"]
    assert len(folds) == 2
    assert sum(f["test"] for f in folds) == len(data.examples)
    assert sum(f["test_ood"] for f in folds) == len(data.ood)
    assert all(f["train"] + f["test"] == len(data.examples) for f in folds)
    accuracy = document["figures"]["intent accuracy"]
    assert len(accuracy["folds"]) == 2 and accuracy["mean"] == pytest.approx(sum(accuracy["folds"]) / 2)
    assert math.isfinite(accuracy["sd"])
    assert set(document["per_intent_f1"]) == {"weather", "restaurant", "greeting"}
    if report is not None:
        page = report.read_text("utf-8")
        assert '<section id="cross-validation">' in page and "Cross-validation (2 folds, seed 0)" in page


def test_cross_validation_usage_errors(make_tiny_bot, tiny_model_dir, tmp_path, capsys) -> None:
    bot = make_tiny_bot(training=FAST)
    assert main(["test", str(bot), "--cross-validate", "1"]) == 2
    assert "at least 2 folds" in capsys.readouterr().err
    assert main(["test", str(tiny_model_dir), "--cross-validate", "2"]) == 2  # a model, not a bot directory
    assert "not a bot directory" in capsys.readouterr().err
    assert main(["test", str(bot), str(bot), "--cross-validate", "2"]) == 2
    assert "one bot directory" in capsys.readouterr().err
