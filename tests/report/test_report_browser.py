"""A report in a real browser (Debian's headless Chromium through Playwright): it draws its plots
with no console error and no request but its own file, and its tables and cells answer clicks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("plotly", reason="the HTML report needs plotly: pip install 'malmoi[report]'")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need Playwright: pip install 'malmoi[test]'"
)
CHROMIUM = Path(os.environ.get("MALMOI_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file():
    pytest.skip(f"the browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium "
                "(or scripts/install_ci_packages.sh)", allow_module_level=True)

from malmoi.cli import main  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_opens_offline_without_errors(tiny_model_dir, tmp_path):
    report = tmp_path / "report.html"
    assert main(["test", str(tiny_model_dir), str(tiny_model_dir.parent / "bot"), "--report", str(report)]) == 0
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                    else None)
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            assert requests == [report.as_uri()]
            assert problems == []
            for plot in ("confusion", "fallback-histogram", "roc", "projection", "training-curves"):
                assert page.locator(f"#{plot} .main-svg").count() >= 1, plot

            # A cell of the confusion matrix lists its utterances (the click plotly reports).
            page.evaluate("document.getElementById('confusion').emit('plotly_click', "
                          "{points: [{x: 'weather', y: 'weather'}]})")
            assert "gold weather → answer weather" in page.locator("#cell-examples h3").inner_text()
            assert page.locator("#cell-examples tr").count() > 1

            # Sortable: the support column, largest first, then smallest first.
            header = page.locator("#intent-table th", has_text="support")
            header.click()
            first = page.locator("#intent-table tbody tr").first.locator("td").nth(4).inner_text()
            header.click()
            last_first = page.locator("#intent-table tbody tr").first.locator("td").nth(4).inner_text()
            assert int(first) > int(last_first)
            assert problems == []
        finally:
            browser.close()
