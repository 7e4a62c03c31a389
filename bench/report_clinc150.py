"""The HTML report of a CLINC150 model: its size, how fast Chromium opens it, a screenshot; and
``malmoi compare`` between two models' reports.

Protocol (issue 14's acceptance: under 10 MB, opens in under 3 s, no console error, no request):
- the test data: ``malmoi import clinc150 data_full.json --split test`` (4,500 in-scope utterances
  in 150 intents and the 1,000 of ``oos_test`` as out-of-domain data), read by path from
  ../shared/data/clinc150;
- the model: ``--model DIR`` (one trained by ``bench/clinc150.py`` or the user-path check), or else
  the bot ``bench/clinc150.py`` writes (train + val, oos_train + oos_val), trained with ``malmoi train``;
- ``malmoi test MODEL TEST_BOT --report report.html`` (wall time of the whole command: loading,
  parsing 5,500 utterances, writing);
- Debian's headless Chromium through Playwright opens ``file://report.html`` ``--opens`` times in
  fresh pages; "opened" is the time from navigation to the page's ``data-ready`` mark, set after
  the last plot is drawn; console errors and warnings and every request are recorded;
- screenshots of the confusion matrix and the fallback section, beside ``--out`` and named after
  it (by default bench/results/report_clinc150_*.png);
- ``--compare-model DIR``: a second model's report, and ``malmoi compare`` of the two (text saved
  beside the JSON).

- ``--from-report FILE``: instead of a model, the data of a report written before (its data
  island: records, figures, model card), written again by this code (no model, no parsing);
  ``--baseline FILE`` opens another report as it is, alternately with the new one, so both are
  timed under the same load.

Run:
    python bench/report_clinc150.py --model /tmp/malmoi-bench/clinc150/default/model \\
        [--compare-model /tmp/malmoi-check/clinc150-10shot/model]
    python bench/report_clinc150.py --from-report old.html --baseline old.html --opens 5
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import _cli
import _userpath as up

DATA = up.DATA / "clinc150" / "data_full.json"
RESULTS = up.RESULTS
# Written beside --out, named after it: the screenshots and `malmoi compare`'s text.
COMPANIONS = ("_confusion.png", "_fallback.png", "_compare.txt")
CHROMIUM = Path(os.environ.get("MALMOI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_bot(work: Path, timeout: float) -> Path:
    bot = work / "test-bot"
    if not (bot / "bot.yaml").exists():
        _, p = up.malmoi_cli("import", "clinc150", DATA, "--split", "test", "--out", bot, timeout=timeout)
        if p.returncode != 0:
            raise up.BenchError(f"malmoi import failed: {p.stderr[-400:]}")
    return bot


def train_model(work: Path, timeout: float) -> Path:
    data = json.loads(DATA.read_text("utf-8"))
    train = [(t.split(), label, None) for t, label in data["train"] + data["val"]]
    ood = [t for t, _ in data["oos_train"] + data["oos_val"]]
    bot = work / "train-bot"
    up.write_bot_csv(bot, train, ood, language="en", name="clinc150", settings={})
    trained = up.train(bot, work / "model", timeout=timeout)
    print(f"trained in {trained.seconds:.0f} s", flush=True)
    return work / "model"


def write_report(model: Path, bot: Path, out: Path, timeout: float) -> float:
    seconds, p = up.malmoi_cli("test", model, bot, "--report", out, timeout=timeout)
    if p.returncode != 0:
        raise up.BenchError(f"malmoi test --report failed ({p.returncode}): {p.stderr[-600:]}")
    return seconds


def open_in_chromium(report: Path, opens: int, shots: Path | None, baseline: Path | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    runs = []
    baseline_runs: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for i in range(opens):
            if baseline is not None:  # alternately, so that both see the same load
                baseline_runs.append(_open_once(browser, baseline))
                print(f"  baseline open {i + 1}: {baseline_runs[-1]['open_seconds']:.2f} s", flush=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            problems: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m, p=problems: p.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc, p=problems: p.append(f"page error: {exc}"))
            page.on("request", lambda r, q=requests: q.append(r.url))
            started = time.perf_counter()
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-ready=true]", timeout=120_000)
            seconds = time.perf_counter() - started
            timings = page.evaluate("window.malmoiReport.timings")
            runs.append({"open_seconds": round(seconds, 3), "plot_ms": {k: round(v) for k, v in timings.items()},
                         "console_problems": problems, "requests": requests})
            print(f"  open {i + 1}: {seconds:.2f} s; plots (ms) {runs[-1]['plot_ms']}", flush=True)
            if shots and i == 0:
                # The sticky navigation bar would lie over the top of an element's screenshot.
                page.evaluate("document.querySelector('nav').style.position = 'static'")
                page.locator("#confusion-section").screenshot(path=str(_cli.companion(shots, "_confusion.png")))
                page.locator("#fallback").screenshot(path=str(_cli.companion(shots, "_fallback.png")))
            page.close()
        browser.close()
    result: dict[str, Any] = {"runs": runs, "open_seconds": sorted(r["open_seconds"] for r in runs)}
    if baseline is not None:
        result["baseline"] = {"file": str(baseline), "mb": round(baseline.stat().st_size / 1e6, 3),
                              "runs": baseline_runs,
                              "open_seconds": sorted(r["open_seconds"] for r in baseline_runs)}
    return result


def _open_once(browser: Any, report: Path) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    started = time.perf_counter()
    page.goto(report.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=120_000)
    seconds = time.perf_counter() - started
    page.close()
    return {"open_seconds": round(seconds, 3), "console_problems": problems}


def rewrite_report(source: Path, out: Path) -> float:
    """The report of ``source``'s data written again by this code: no model, no parsing."""
    from malmoi.report import read_report, write_report

    started = time.perf_counter()
    write_report(out, read_report(source))
    return time.perf_counter() - started


def main() -> None:
    parser = _cli.Parser(description=__doc__)
    parser.add_argument("--model", type=Path, help="a trained CLINC150 model (default: train one, ~5 min)")
    parser.add_argument("--compare-model", type=Path, help="a second model: its report and `malmoi compare`")
    parser.add_argument("--opens", type=int, default=3, help="times Chromium opens the report (default 3)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_out(RESULTS / "report_clinc150.json", what="result JSON, with the screenshots (<name>_confusion.png, "
                   "<name>_fallback.png) and --compare-model's <name>_compare.txt beside it", companions=COMPANIONS)
    parser.add_argument("--from-report", type=Path, help="write the report again from this report's data "
                        "(no model, no parsing)")
    parser.add_argument("--baseline", type=Path, help="also open this report, alternately, and time it")
    args = parser.parse_args()

    work = up.workdir("report-clinc150")
    report = work / "report.html"
    if args.from_report:
        model: Path | str = f"the data of {args.from_report}"
        seconds = rewrite_report(args.from_report, report)
        what = "written again from its data"
    else:
        bot = test_bot(work, args.timeout)
        model = args.model or train_model(work, args.timeout)
        seconds = write_report(model, bot, report, args.timeout)
        what = "malmoi test, parsing included"
    size = report.stat().st_size
    print(f"report of {model}: {size / 1e6:.2f} MB, written in {seconds:.1f} s ({what})")
    opened = open_in_chromium(report, args.opens, args.out, args.baseline)  # screenshots named after --out
    result: dict[str, Any] = {
        "model": str(model), "report_mb": round(size / 1e6, 3), "report_write_seconds": round(seconds, 1),
        "report_written_by": what,
        "limits": {"report_mb": 10, "open_seconds": 3}, **opened,
        # The machine is shared: the 1-, 5- and 15-minute load averages say how busy it was.
        "load_average_after_opening": [round(x, 2) for x in os.getloadavg()],
    }
    if args.compare_model and not args.from_report:
        other = work / "report-b.html"
        write_report(args.compare_model, bot, other, args.timeout)
        _, p = up.malmoi_cli("compare", report, other, "--examples", "5", "--json", work / "compare.json",
                             timeout=args.timeout)
        if p.returncode != 0:
            raise up.BenchError(f"malmoi compare failed: {p.stderr[-400:]}")
        _cli.write_text(_cli.companion(args.out, "_compare.txt"), p.stdout)
        comparison = json.loads((work / "compare.json").read_text("utf-8"))
        result["compare"] = {"model_b": str(args.compare_model), "summary": comparison["summary"],
                             "intents_moved": len(comparison["intents"]),
                             "fixed": len(comparison["examples"]["fixed"]),
                             "broken": len(comparison["examples"]["broken"])}
        print(p.stdout[:3000])
    up.save(args.out, up.result("report_clinc150", __doc__.split("\n\n")[1], argparse.Namespace(limit=None),
                                **result))


if __name__ == "__main__":
    main()
