"""malmoi test --report --suspects: the "Label suspects" section from malmoi clean's suspects.json."""

from __future__ import annotations

import json

import pytest

from malmoi.cli import main
from malmoi.report import read_report

pytest.importorskip("plotly", reason="the HTML report needs plotly: pip install 'malmoi[report]'")


def _suspects_file(path, tested_text: str):
    suspects = [
        {"rank": 1, "text": tested_text, "given": "a", "suggested": "b", "p_wrong": 0.97, "p_suggested": 0.95,
         "times_checked": 6, "source": "bot/data/intents/a.csv:3", "conflict": False,
         "neighbours": [{"text": "near one", "intent": "b", "similarity": 0.8, "source": "x.csv:2"}]},
        {"rank": 2, "text": "<script>alert(1)</script>", "given": "b", "suggested": "a", "p_wrong": 0.6,
         "p_suggested": 0.55, "times_checked": 6, "source": "bot/data/intents/b.csv:9", "conflict": True,
         "neighbours": []},
    ]
    path.write_text(json.dumps({"summary": {"examples": 120}, "suspects": suspects}), "utf-8")
    return path


def test_report_gets_a_suspects_section(tiny_model_dir, tmp_path):
    bot = tiny_model_dir.parent / "bot"
    plain = tmp_path / "plain.html"
    assert main(["test", str(tiny_model_dir), str(bot), "--report", str(plain)]) == 0
    tested_text = read_report(plain)["records"][0]["text"]
    assert 'id="label-suspects"' not in plain.read_text("utf-8")  # no --suspects, no section

    out = tmp_path / "report.html"
    suspects = _suspects_file(tmp_path / "suspects.json", tested_text)
    assert main(["test", str(tiny_model_dir), str(bot), "--report", str(out), "--suspects", str(suspects)]) == 0
    page = out.read_text("utf-8")
    section = page[page.index('<section id="label-suspects">') :]
    section = section[: section.index("</section>")]
    assert 'href="#label-suspects"' in page
    assert "Label suspects (2)" in section and "of 120 checked" in section
    rows = section.split("<tr>")[2:]
    assert len(rows) == 2
    assert tested_text in rows[0] and "<td>yes</td>" in rows[0] and "near one" in rows[0]  # in the test data
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows[1] and "<script>alert" not in section
    assert read_report(out)["label_suspects"]["total"] == 2  # in the data island too


@pytest.mark.parametrize("content, said", [
    (None, "no such file"),
    ("not json", "cannot read it as JSON"),
    ('{"rows": []}', "no list of suspects"),
    ('{"suspects": [{"rank": 1}]}', "suspect 1 has no text"),
])
def test_bad_suspects_file_is_refused_before_any_work(tmp_path, capsys, content, said):
    path = tmp_path / "suspects.json"
    if content is not None:
        path.write_text(content, "utf-8")
    assert main(["test", "no-model", str(tmp_path), "--report", str(tmp_path / "r.html"), "--suspects", str(path)]) == 2
    err = capsys.readouterr().err
    assert said in err and "suspects.json" in err and "malmoi clean" in err


def test_suspects_need_a_report(tmp_path, capsys):
    assert main(["test", "no-model", str(tmp_path), "--suspects", str(tmp_path / "s.json")]) == 2
    assert "--report" in capsys.readouterr().err
