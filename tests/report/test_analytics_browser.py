"""The analytics page of `malmoi stats --html` in a real browser (Debian's headless Chromium
through Playwright): its charts draw with no console error and no request but the page itself."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytest.importorskip("plotly", reason="the analytics page needs plotly: pip install 'malmoi[report]'")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need Playwright: pip install 'malmoi[test]'"
)
CHROMIUM = Path(os.environ.get("MALMOI_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file():
    pytest.skip(f"the browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium "
                "(or scripts/install_ci_packages.sh)", allow_module_level=True)

from malmoi.cli import main  # noqa: E402
from malmoi.dialogue.store import StateStore, messages  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_analytics_page_opens_offline_without_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    store = StateStore(url)
    now = datetime.now(timezone.utc)
    rows = [{"created_at": now - timedelta(hours=h), "bot": "b", "user_id": f"u{h % 3}", "source": "kakao",
             "text": "<script>alert(1)</script>" if h % 4 == 0 else "날씨", "intent": "weather",
             "confidence": 0.4 if h % 5 == 0 else 0.9, "fallback": h % 4 == 0, "entities": [],
             "model_version": "m", "status": "REQUIRE_LOCATION" if h % 2 else "SUCCESS", "answer": "a"}
            for h in range(60)]
    with store.engine.begin() as db:
        db.execute(messages.insert(), rows)
    store.close()
    page_file = tmp_path / "analytics.html"
    assert main(["stats", "--database-url", url, "--since", "7d", "--html", str(page_file), "--json"]) == 0
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                    else None)
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("dialog", lambda d: problems.append(f"a dialog opened: {d.message}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            page.wait_for_function("window.malmoiAnalyticsDrawn === true", timeout=60_000)
            for plot in ("per-day", "fallback", "intents", "slots"):
                assert page.locator(f"#{plot} .main-svg").count() >= 1, plot
            assert "<script>alert(1)</script>" in page.locator("table").first.inner_text()  # shown as text
            assert requests == [page_file.as_uri()]
            assert problems == []
        finally:
            browser.close()
