"""The benchmarks' outputs (bench/_cli.py): a benchmark replaces only a file a benchmark wrote, and
refuses anything else with one line and exit status 2, before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench(script: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, str(BENCH / script), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_summary_replaces_its_own_file_only(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    mine = tmp_path / "notes.md"
    mine.write_text("# my notes\n", "utf-8")
    refused = bench("variants.py", "--summary", "--results", results, "--summary-out", mine)
    assert refused.returncode == 2 and mine.read_text("utf-8") == "# my notes\n"
    assert refused.stderr.count("\n") == 1 and "was not written by a benchmark" in refused.stderr
    summary = tmp_path / "summary.md"
    for _ in range(2):  # written, then replaced: it is its own
        assert bench("variants.py", "--summary", "--results", results, "--summary-out", summary).returncode == 0
    assert summary.read_text("utf-8").startswith("# Saved benchmark results")


@pytest.mark.parametrize("out", ["notes.txt", "folder", "data.json"])
def test_an_out_that_is_not_a_benchmark_result_is_refused_before_any_work(tmp_path: Path, out: str) -> None:
    target = tmp_path / out
    if out == "folder":
        target.mkdir()
    else:
        target.write_text(json.dumps({"rows": [1, 2]}) if out == "data.json" else "notes\n", "utf-8")
    for script in ("snips.py", "label_noise.py" if out != "folder" else "kochat_demo.py", "serve_load.py"):
        p = bench(script, "--out", target)
        assert p.returncode == 2, (script, p.stderr)
        assert p.stderr.startswith("error: --out") and p.stderr.count("\n") == 1, p.stderr
    assert target.is_dir() if out == "folder" else target.read_text("utf-8") != ""


def test_many_bots_keeps_a_work_folder_it_did_not_make(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine", "utf-8")
    p = bench("many_bots.py", "--work", work, "--bots", "2", "--trained", "2")
    assert p.returncode == 2 and "did not write" in p.stderr and p.stderr.count("\n") == 1
    assert [f.name for f in work.iterdir()] == ["keep.txt"]


def test_many_bots_writes_its_results_under_its_work_folder_by_default() -> None:
    p = bench("many_bots.py", "--help")
    assert p.returncode == 0
    assert "default WORK/many_bots.json" in " ".join(p.stdout.split())
