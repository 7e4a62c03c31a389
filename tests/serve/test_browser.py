"""The web chat page in a real browser: Debian's headless Chromium, driven by Playwright.

The browser is never downloaded by Playwright: CI installs Debian's ``chromium`` package
(scripts/install_ci_packages.sh) and the tests launch /usr/bin/chromium, or $MALMOI_CHROMIUM.
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need Playwright: pip install 'malmoi[test]'"
)
CHROMIUM = Path(os.environ.get("MALMOI_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file():
    pytest.skip(
        f"the browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium "
        "(or scripts/install_ci_packages.sh)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, Route, expect  # noqa: E402

STATIC = Path(__file__).resolve().parents[2] / "src" / "malmoi" / "serve" / "static"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ANSWER_TIMEOUT_MS = 15_000  # the first parse warms up torch and Kiwi in the server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 900, "height": 800}, locale="ko-KR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def bot_answers(page: Page):
    return page.locator(".message.bot:not(.intro):not(.pending) .bubble")


def send(page: Page, text: str) -> None:
    page.get_by_label("메시지 입력").fill(text)
    page.get_by_role("button", name="보내기").click()


def test_page_chat_with_the_server(page: Page, server_factory, chat_model_dir: Path, tmp_path: Path) -> None:
    server = server_factory(chat_model_dir, f"sqlite:///{tmp_path / 'state.sqlite3'}")
    server.start()
    page.goto(server.url + "/")
    expect(page).to_have_title("말모이 챗봇 · malmoi chat")
    expect(page.locator("#status")).to_have_attribute("data-state", "ok")

    send(page, "내일 부산 날씨 알려줘")
    expect(bot_answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(bot_answers(page).last).to_contain_text("부산")
    expect(bot_answers(page).last).to_contain_text("날씨")

    user_message = page.locator(".message.user").last
    user_message.get_by_text("분석 보기").click()
    expect(user_message.locator(".intent-name")).to_have_text("weather")
    expect(user_message.locator(".fallback")).to_contain_text("아니오")
    expect(user_message.locator("mark.entity[data-entity='LOCATION']")).to_contain_text("부산")
    page.screenshot(path=str(tmp_path / "chat.png"))

    # Enter sends too, and the same user id carries the conversation on.
    user_id = page.evaluate("localStorage.getItem('malmoi.userId')")
    assert user_id and user_id.startswith("web-")
    page.get_by_label("메시지 입력").fill("안녕하세요")
    page.get_by_label("메시지 입력").press("Enter")
    expect(bot_answers(page)).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate("localStorage.getItem('malmoi.userId')") == user_id

    # A request the server refuses shows its error code and message, not a broken page.
    send(page, "가" * 1001)
    expect(page.locator(".message.error").last).to_contain_text("422", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".message.error").last).to_contain_text("text_too_long")

    # A server that is down says so.
    server.stop()
    send(page, "안녕")
    expect(page.locator(".message.error").last).to_contain_text("서버에 연결할 수 없습니다", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#status")).to_have_attribute("data-state", "down")
    expect(page.get_by_role("button", name="보내기")).to_be_enabled()


def fake_server(answer: dict) -> Callable[[Route], None]:
    """A route handler serving the static files and one canned /v1/chat answer: no model needed."""

    def handle(route: Route) -> None:
        path = route.request.url.split("://", 1)[1].partition("/")[2].split("?")[0]
        if path == "v1/chat":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))
        elif path == "health":
            route.fulfill(status=200, content_type="application/json", body='{"status": "ok"}')
        else:
            file = STATIC / (path.removeprefix("static/") if path else "index.html")
            if not file.is_file():
                route.fulfill(status=404, body="not found")
                return
            route.fulfill(status=200, content_type=mimetypes.guess_type(file.name)[0], body=file.read_bytes())

    return handle


def test_page_highlights_entities_by_code_point(page: Page) -> None:
    # Python counts code points, JavaScript UTF-16 units: the emoji shifts a naive slice by one.
    text = "😀 내일 부산 날씨"
    entities = [
        {"entity": "DATE", "value": "내일", "start": 2, "end": 4},
        {"entity": "LOCATION", "value": "부산", "start": 5, "end": 7},
    ]
    assert [text[e["start"]:e["end"]] for e in entities] == ["내일", "부산"]
    parse = {
        "text": text, "intent": {"name": "weather", "confidence": 0.93},
        "intent_ranking": [{"name": "weather", "confidence": 0.93}, {"name": "greeting", "confidence": 0.07}],
        "fallback": False, "entities": entities,
    }
    page.route("http://malmoi.test/**", fake_server({"answer": "<b>맑아요</b>", "parse": parse, "state": {}}))
    page.goto("http://malmoi.test/")
    send(page, text)
    expect(bot_answers(page)).to_have_text(["<b>맑아요</b>"])  # shown as text, never as HTML
    page.locator(".message.user").last.get_by_text("분석 보기").click()
    marks = page.locator(".message.user mark.entity")
    expect(marks).to_have_count(2)
    assert [marks.nth(i).evaluate("m => m.firstChild.textContent") for i in range(2)] == ["내일", "부산"]
    expect(page.locator(".message.user .confidence")).to_have_text("93.0 %")


def test_pages_work_offline_under_the_content_security_policy(
    page: Page, server_factory, chat_model_dir: Path, tmp_path: Path
) -> None:
    """The chat page and /docs (Swagger UI) with every other origin unreachable, as on a machine
    offline, and with no script, style or request that the server's CSP forbids."""
    server = server_factory(chat_model_dir, f"sqlite:///{tmp_path / 'state.sqlite3'}")
    server.start()
    elsewhere: list[str] = []
    violations: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)

    page.goto(server.url + "/")
    expect(page.locator("#status")).to_have_attribute("data-state", "ok")
    send(page, "내일 부산 날씨 알려줘")
    expect(bot_answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    page.locator(".message.user").last.get_by_text("분석 보기").click()
    expect(page.locator(".message.user mark.entity[data-entity='LOCATION']")).to_contain_text("부산")

    page.goto(server.url + "/docs")
    expect(page.locator(".opblock-summary-path[data-path='/v1/chat']")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    page.locator(".opblock-summary-path[data-path='/v1/parse']").click()  # React renders an operation
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert not elsewhere, f"requests to other origins: {elsewhere}"
    assert not violations, f"blocked by the Content-Security-Policy: {violations}"
