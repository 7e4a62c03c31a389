"""malmoi test --report: one self-contained HTML file whose data island reads back; malmoi compare."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from malmoi.cli import main
from malmoi.evaluate import Candidate, Evaluation, Record
from malmoi.report import ReportError, compare, read_report, report_data, write_report

pytest.importorskip("plotly", reason="the HTML report needs plotly: pip install 'malmoi[report]'")

SIZE_LIMIT = 10_000_000  # the bound for a 150-intent report


@pytest.fixture(scope="module")
def tiny_report(tiny_model_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["test", str(tiny_model_dir), str(tiny_model_dir.parent / "bot"), "--report", str(out)]) == 0
    return out


def test_report_is_one_offline_file_with_every_section(tiny_report):
    page = tiny_report.read_text("utf-8")
    assert len(page.encode()) < SIZE_LIMIT
    # Nothing is loaded from anywhere: no element names another file or host (plotly.js's own code holds
    # links it never follows here, like its logo's), and a policy forbids any request.
    markup = re.sub(r"<script[^>]*>.*?</script>", "<script></script>", page, flags=re.DOTALL)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", markup)
    assert markup.count("<script") == 4  # plotly.js, the data, the figures, the page's own code
    assert "default-src 'none'" in page
    assert "Plotly.newPlot" in page and "plotly.js" in page.lower()
    for section in ("summary", "model", "intents", "confusion", "fallback-histogram", "roc", "threshold-tradeoff",
                    "projection", "entities", "training-curves", "errors"):
        assert f'id="{section}"' in page, section


def test_report_data_reads_back_with_every_utterance(tiny_report, tiny_model, tiny_model_dir):
    data = read_report(tiny_report)
    assert data["model"]["name"] == "tiny" and data["model"]["intents"] == tiny_model.intents
    assert len(data["model"]["training"]["history"]) == data["model"]["training"]["epochs_run"]
    assert data["data"]["utterances"] == len(data["records"]) and data["data"]["files"] >= 4
    assert len(data["data"]["sha256"]) == 64
    record = data["records"][0]
    assert {"text", "gold_intent", "predicted_intent", "candidates", "in_domain_score", "fallback", "gold_spans",
            "predicted_spans", "source"} <= set(record)
    assert record["source"].startswith("data/intents/")  # relative to the data folder
    assert len(data["projection"]["points"]) == len(data["records"]) + len(data["ood_records"])
    assert len(data["projection"]["centres"]) == len(tiny_model.intents)
    again = Evaluation.from_dict(data)
    assert again.intent_accuracy == pytest.approx(data["figures"]["intent_accuracy"])


def _record(text: str, gold: str | None, predicted: str, *, fallback: bool = False) -> Record:
    return Record(text, gold, predicted, (Candidate(predicted, 0.9), Candidate("other", 0.1)),
                  0.2 if fallback else 0.8, fallback, ((0, 1, "X"),) if gold else (), ((0, 1, "X"),) if gold else ())


class _Model:
    """Just what report_data reads of a model: a name, labels, settings, a training report."""

    def __init__(self):
        from malmoi.settings import BotConfig

        self.config = BotConfig(name="fake")
        self.intents, self.tags, self.threshold = ["play", "stop"], ["O", "B-X", "I-X"], 0.5
        self.report = {"history": [{"epoch": 1, "loss": 1.0}], "epochs_run": 1}


def test_hostile_utterances_stay_text(tmp_path):
    hostile = '</script><script>alert(1)</script><img src="http://x/y.png"> & <b>bold</b>'
    evaluation = Evaluation.from_records(
        [_record(hostile, "play", "stop"), _record("stop it", "stop", "stop")], [_record("hi", None, "play")],
        threshold=0.5)
    path = write_report(tmp_path / "r.html", report_data(evaluation, _Model()))
    page = path.read_text("utf-8")
    assert "<script>alert(1)" not in page and '<img src="http://x' not in page
    assert read_report(path)["records"][0]["text"] == hostile


def test_compare_lists_intents_and_utterances_that_moved(tmp_path):
    before = [_record("play a", "play", "play"), _record("play b", "play", "play"), _record("stop a", "stop", "play")]
    after = [_record("play a", "play", "play"), _record("play b", "play", "stop"), _record("stop a", "stop", "stop")]
    ood = [_record("hi", None, "play", fallback=True)]
    a = report_data(Evaluation.from_records(before, ood, threshold=0.5), _Model())
    b = report_data(Evaluation.from_records(after, [_record("hi", None, "play")], threshold=0.5), _Model())
    result = compare(a, b)
    assert [e["text"] for e in result["examples"]["broken"]] == ["play b", "hi"]
    assert [e["text"] for e in result["examples"]["fixed"]] == ["stop a"]
    moved = {r["intent"]: r for r in result["intents"]}
    assert moved["play"]["broken"] == 1 and moved["play"]["examples"]["broken"][0]["answer_b"] == "stop"
    assert moved["stop"]["fixed"] == 1 and moved["stop"]["change"] > 0
    recall = next(r for r in result["summary"] if r["metric"].startswith("fallback recall"))
    assert (recall["a"], recall["b"], recall["verdict"]) == (1.0, 0.0, "worse")


@pytest.mark.slow
def test_compare_command_on_two_model_versions(tiny_report, tiny_model_dir, tmp_path, capsys):
    import malmoi

    bot = tiny_model_dir.parent / "bot"
    # A worse version of the same bot: one epoch of training.
    config_text = (bot / "bot.yaml").read_text("utf-8")
    worse_bot = tmp_path / "bot"
    import shutil

    shutil.copytree(bot, worse_bot)
    (worse_bot / "bot.yaml").write_text(re.sub(r"epochs: \d+", "epochs: 1", config_text), "utf-8")
    malmoi.train(worse_bot, progress=False).save(tmp_path / "worse")
    worse_report = tmp_path / "worse.html"
    assert main(["test", str(tmp_path / "worse"), str(bot), "--report", str(worse_report)]) == 0
    capsys.readouterr()
    out = tmp_path / "compare.json"
    assert main(["compare", str(tiny_report), str(worse_report), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text("utf-8"))
    assert result["shared_utterances"] == len(read_report(tiny_report)["records"]) + len(
        read_report(tiny_report)["ood_records"])
    assert result["only_in_a"] == result["only_in_b"] == 0
    assert "Intents whose F1 moved" in printed
    for row in result["intents"]:
        assert row["intent"] in printed
        for example in row["examples"]["broken"]:
            assert example["answer_a"] == example["gold"] != example["answer_b"]


@pytest.mark.parametrize("content", [None, "<html><body>no report</body></html>", "{\"format\": \"other\"}",
                                     '<script type="application/json" id="malmoi-report-data">{"format": </script>'])
def test_compare_refuses_what_is_not_a_report(tmp_path, tiny_report, capsys, content):
    bad = tmp_path / "bad.html"
    if content is not None:
        bad.write_text(content, "utf-8")
    assert main(["compare", str(tiny_report), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
    with pytest.raises(ReportError):
        read_report(bad)


def test_report_options_are_checked_before_any_work(tmp_path, capsys):
    assert main(["test", "no-model", "--report", str(tmp_path / "r.html")]) == 2
    assert "--report needs test data" in capsys.readouterr().err
    assert main(["test", "no-model", str(tmp_path), "--report", str(tmp_path / "missing" / "r.html")]) == 2
    assert "create it first" in capsys.readouterr().err


def test_report_without_plotly_says_what_to_install(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "plotly", None)
    assert main(["test", "no-model", str(tmp_path), "--report", str(tmp_path / "r.html")]) == 2
    assert "pip install 'malmoi[report]'" in capsys.readouterr().err


def test_report_embeds_the_cartesian_bundle_only_for_its_own_plotly_version(monkeypatch):
    """plotly.js's cartesian bundle (vendor/README.md) when plotly.py writes figures for that same
    version; otherwise plotly.py's full bundle, which draws whatever plotly.py writes."""
    import plotly.offline

    from malmoi.report import _html

    cartesian = _html.CARTESIAN_BUNDLE.read_text("utf-8")
    assert _html._bundle_version(cartesian) == "4.1.1"
    # No map code, so no tile or attribution links; what remains is the mode bar's plotly.com logo
    # link, which the report hides (displaylogo: false).
    assert "openstreetmap" not in cartesian.lower() and 'src="http' not in cartesian
    assert cartesian.count('href="http') == 1
    monkeypatch.setattr(plotly.offline, "get_plotlyjs", lambda: "/**\n* plotly.js v4.1.1\n*/ full")
    assert _html._plotly_js() == cartesian
    monkeypatch.setattr(plotly.offline, "get_plotlyjs", lambda: "/**\n* plotly.js v4.2.0\n*/ full")
    assert _html._plotly_js().endswith("full")


def test_the_threshold_trade_off_marks_the_model_s_threshold_and_counts_each_row():
    from malmoi.report._figures import threshold_tradeoff

    def record(score: float, right: bool = True) -> dict:
        return {"in_domain_score": score, "gold_intent": "a", "predicted_intent": "a" if right else "b"}

    data = {"records": [record(0.9), record(0.8), record(0.7, right=False), record(0.3)],
            "ood_records": [record(0.2), record(0.5), record(0.75)], "figures": {"threshold": 0.6}}
    rows = threshold_tradeoff(data)
    assert [r["threshold"] for r in rows] == sorted(r["threshold"] for r in rows)
    chosen = [r for r in rows if r["chosen"]]
    assert len(chosen) == 1 and chosen[0]["threshold"] == 0.6
    # At 0.6: 0.9 and 0.8 answered right, 0.7 answered wrong, 0.3 refused; 0.2 and 0.5 caught, 0.75 not.
    assert chosen[0]["in_scope_accuracy"] == 0.5 and chosen[0]["false_fallbacks"] == 1
    assert chosen[0]["ood_recall"] == 2 / 3 and chosen[0]["false_fallback_rate"] == 0.25
    lowest = rows[0]
    # Just below the lowest in-domain score: no request refused, the one lower out-of-domain score caught.
    assert lowest["false_fallbacks"] == 0 and lowest["ood_recall"] == 1 / 3
    assert max(r["ood_recall"] for r in rows) == 1.0
    assert threshold_tradeoff({**data, "ood_records": []})[0]["ood_recall"] is None
