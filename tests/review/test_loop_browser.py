"""The whole loop, end to end: messages logged by a running server, reviewed in Chromium, written
into the bot's data, retrained, published only when nothing regresses; a sabotaged candidate is
refused.

The server is ``malmoi serve --registry`` in a subprocess on 127.0.0.1; the browser is Debian's
Chromium (/usr/bin/chromium, or $MALMOI_CHROMIUM) driven by Playwright, as in tests/serve.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")
httpx = pytest.importorskip("httpx", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need Playwright: pip install 'malmoi[test]'"
)
CHROMIUM = Path(os.environ.get("MALMOI_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file():
    pytest.skip(f"the browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium "
                "(or scripts/install_ci_packages.sh)", allow_module_level=True)

from loop_bot import UNSURE_OOD, UNSURE_WEATHER, sabotage, write_test_data  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

import malmoi  # noqa: E402
from malmoi.bots import KeyStore, Registry  # noqa: E402
from malmoi.cli import EXIT_REFUSED, main  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TRAINING = "{epochs: 12, patience: 12, batch_size: 16}"  # ~8 s; at 6 epochs two runs differ by chance
ENTITY_MESSAGE = "주말에 부산 추워?"
ENTITY_MARKUP = "[주말](DATE)에 [부산](LOCATION) 추워?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def registry_server(tmp_path: Path, make_tiny_bot) -> Iterator[dict]:
    """A published tiny bot, an admin key, and `malmoi serve --registry --review-dir` running."""
    review_dir = tmp_path / "bots"
    review_dir.mkdir()
    bot_dir = review_dir / "tiny"
    shutil.move(make_tiny_bot(training=TRAINING), bot_dir)
    write_test_data(bot_dir)
    registry = Registry(tmp_path / "registry")
    model_dir = malmoi.train(bot_dir, progress=False).save(tmp_path / "model-v1")
    registry.publish(model_dir, bot="tiny", data=bot_dir)
    key, record = KeyStore(registry).create(admin=True)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "malmoi.cli", "serve", "--registry", str(registry.root), "--review-dir",
               str(review_dir), "--database-url", f"sqlite:///{tmp_path / 'state.sqlite3'}", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield {"url": url, "key": key, "key_id": record.id, "bot_dir": bot_dir, "registry": registry,
               "process": process}
    finally:
        process.terminate()
        process.wait(10)


def item(page: Page, text: str):
    return page.locator(".item").filter(has=page.locator(".text", has_text=re.compile(f"^{re.escape(text)}$")))


@pytest.mark.slow
def test_review_in_the_browser_then_retrain_publishes_and_refuses_a_worse_candidate(
    registry_server: dict, tmp_path: Path
) -> None:
    url, key, bot_dir = registry_server["url"], registry_server["key"], registry_server["bot_dir"]
    registry: Registry = registry_server["registry"]
    auth = {"Authorization": f"Bearer {key}"}
    sent = [*UNSURE_WEATHER, ENTITY_MESSAGE, *UNSURE_OOD]
    for text in [*sent, UNSURE_WEATHER[0]]:  # one text twice: one item with two message ids
        response = httpx.post(f"{url}/v1/bots/tiny/parse", json={"text": text}, headers=auth)
        assert response.status_code == 200, response.text
    # The parse log is written in the background within ~0.2 s.
    deadline = time.monotonic() + 10
    while True:
        listed = httpx.get(f"{url}/v1/bots/tiny/review", params={"below": 1.0}, headers=auth).json()
        texts = {i["text"] for g in listed["groups"] for i in g["items"]}
        if texts >= set(sent) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert texts == set(sent)
    # A key for the bot itself may parse but not review; no key at all is 401.
    bot_key, _ = KeyStore(registry).create(bot="tiny")
    assert httpx.get(f"{url}/v1/bots/tiny/review", headers={"Authorization": f"Bearer {bot_key}"}).status_code == 403
    assert httpx.get(f"{url}/v1/bots/tiny/review").status_code == 401

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="ko-KR")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{url}/review/tiny")
        page.get_by_label("관리자 키 (admin key)").fill(key)
        page.get_by_label("확신도 기준 (below)").fill("1")
        page.get_by_role("button", name="불러오기 (load)").click()
        expect(item(page, ENTITY_MESSAGE)).to_have_count(1, timeout=15_000)
        repeated = item(page, UNSURE_WEATHER[0])
        expect(repeated).to_have_attribute("data-ids", re.compile(r"^\d+,\d+$"))  # two messages, one item
        # The two spellings of one question share a group (sentence vectors).
        group = page.locator(".group").filter(has=repeated)
        expect(group.locator(".item")).to_contain_text([UNSURE_WEATHER[1]])

        # An entity typed wrongly is refused with the reason, and nothing is written.
        entity_item = item(page, ENTITY_MESSAGE)
        entity_item.locator("input.markup").fill("[주말](WHEN)에 부산 추워?")
        entity_item.locator("select.intent").select_option("weather")
        entity_item.get_by_role("button", name="지정 (assign)").click()
        expect(entity_item.locator(".status")).to_contain_text("invalid_answer")
        assert not (bot_dir / "data" / "intents" / "reviewed.yml").exists()
        # One click per answer: an intent with entities, ...
        entity_item.locator("input.markup").fill(ENTITY_MARKUP)
        entity_item.get_by_role("button", name="지정 (assign)").click()
        expect(entity_item).to_have_attribute("data-answer", "weather")
        # ... each weather text, ...
        for text in UNSURE_WEATHER:
            row = item(page, text)
            if row.get_attribute("data-answer") is None:
                row.locator("select.intent").select_option("weather")
                row.get_by_role("button", name="지정 (assign)").click()
                expect(row).to_have_attribute("data-answer", "weather")
        # ... and out of domain.
        item(page, UNSURE_OOD[0]).get_by_role("button", name="도메인 밖 (out of domain)").click()
        expect(item(page, UNSURE_OOD[0])).to_have_attribute("data-answer", "out_of_domain")
        page.screenshot(path=str(tmp_path / "review.png"))

        # Reviewed messages are not listed again.
        page.reload()
        page.get_by_label("확신도 기준 (below)").fill("1")
        page.get_by_role("button", name="불러오기 (load)").click()
        expect(page.locator("#status")).to_contain_text("nothing to review")
        browser.close()
    assert not errors, errors
    assert all(r.startswith(url) for r in requests), [r for r in requests if not r.startswith(url)]

    # The data files, as the loader reads them, with the provenance beside each utterance.
    reviewed = (bot_dir / "data" / "intents" / "reviewed.yml").read_text("utf-8")
    assert f'- "{ENTITY_MARKUP}"' in reviewed
    assert f"reviewer key:{registry_server['key_id']}; model tiny@v000001" in reviewed
    assert UNSURE_OOD[0] in (bot_dir / "data" / "ood" / "reviewed.csv").read_text("utf-8")
    log = [json.loads(line) for line in (bot_dir / "data" / "review-log.jsonl").read_text("utf-8").splitlines()]
    assert sorted(a["text"] for a in log) == sorted(sent)
    _, data = malmoi.data.load_bot(bot_dir)
    loaded = {e.text: e for e in data.examples}
    assert {t: loaded[t].intent for t in [*UNSURE_WEATHER, ENTITY_MESSAGE]} == dict.fromkeys(
        [*UNSURE_WEATHER, ENTITY_MESSAGE], "weather")
    assert [(e.type, e.value) for e in loaded[ENTITY_MESSAGE].entities] == [("DATE", "주말"), ("LOCATION", "부산")]
    assert UNSURE_OOD[0] in {e.text for e in data.ood}
    registry_server["process"].terminate()
    registry_server["process"].wait(10)

    # Retrain from the reviewed data: published, with the comparison kept beside the candidate.
    run = tmp_path / "run-good"
    code = main(["retrain", str(bot_dir), "--registry", str(registry.root), "--bot", "tiny", "--tolerance", "0.05",
                 "--min-support", "5", "--out", str(run), "--quiet"])
    assert code == 0
    assert registry.live_version("tiny") == "v000002"
    decision = json.loads((run / "decision.json").read_text("utf-8"))
    assert decision["published"] == "v000002" and decision["checks"]
    assert (run / "compare.txt").is_file() and (run / "candidate" / "model.json").is_file()

    # A candidate trained on sabotaged data is refused; the live version stays.
    bad_dir = tmp_path / "bad"
    shutil.copytree(bot_dir, bad_dir)
    sabotage(bad_dir)
    run = tmp_path / "run-bad"
    code = main(["retrain", str(bad_dir), "--registry", str(registry.root), "--bot", "tiny", "--test",
                 str(bot_dir / "test"), "--out", str(run), "--quiet"])
    assert code == EXIT_REFUSED
    assert registry.live_version("tiny") == "v000002"
    decision = json.loads((run / "decision.json").read_text("utf-8"))
    assert decision["published"] is None
    assert any(r.startswith("intent accuracy") for r in decision["refused"])
    assert (run / "compare.json").is_file()
