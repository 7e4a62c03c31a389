"""A registry server's lists and pages: GET /v1/bots, conversations, the chat page per bot, KakaoTalk
per bot with the key in the skill's headers, /metrics and /analytics for admin keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")

from fastapi import testclient

from malmoi.bots import KeyStore, Registry
from malmoi.serve.builder import create_bots_app

FAR = ("10.1.2.3", 4000)  # a client on another machine


@pytest.fixture
def client(registry: Registry, tmp_path: Path) -> Iterator[testclient.TestClient]:
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}")
    with testclient.TestClient(app, base_url="http://localhost", client=FAR, raise_server_exceptions=False) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def skill(user: str, text: str) -> dict:
    return {"userRequest": {"utterance": text, "user": {"id": user, "type": "botUserKey"}}}


def test_bots_list_shows_what_the_key_may_use(client, registry: Registry) -> None:
    keys = KeyStore(registry)
    admin, _ = keys.create(admin=True)
    beta, _ = keys.create(bot="beta")
    every = client.get("/v1/bots", headers=bearer(admin)).json()
    assert [(b["bot"], b["live"]) for b in every] == [("alpha", "v000001"), ("beta", "v000001"), ("gamma", "v000001")]
    assert [b["bot"] for b in client.get("/v1/bots", headers=bearer(beta)).json()] == ["beta"]
    assert client.get("/v1/bots").status_code == 401


def test_kakao_per_bot_with_the_key_in_the_skill_headers_and_the_conversation_read_back(client, registry) -> None:
    keys = KeyStore(registry)
    alpha, _ = keys.create(bot="alpha")
    assert client.post("/v1/bots/alpha/channels/kakao", json=skill("k", "날씨 알려줘")).status_code == 401
    asked = client.post("/v1/bots/alpha/channels/kakao", json=skill("k", "날씨 알려줘"), headers=bearer(alpha))
    assert asked.json()["template"]["outputs"][0]["simpleText"]["text"] == "어느 지역이요?"
    done = client.post("/v1/bots/alpha/channels/kakao", json=skill("k", "부산"), headers=bearer(alpha)).json()
    assert done["template"]["outputs"][0]["simpleText"]["text"] == "오늘 부산 맑음"
    read = client.get("/v1/bots/alpha/conversations/kakao:k", headers=bearer(alpha)).json()
    assert read["state"]["status"] == "SUCCESS" and read["state"]["slots"]["LOCATION"] == "부산"
    assert [(m["text"], m["source"]) for m in read["messages"]] == [("날씨 알려줘", "kakao"), ("부산", "kakao")]
    assert client.get("/v1/bots/beta/conversations/kakao:k", headers=bearer(alpha)).status_code == 403


def test_chat_page_per_bot_takes_the_key_on_the_page(client) -> None:
    page = client.get("/bots/alpha/")
    assert page.status_code == 200
    assert 'data-chat="../../v1/bots/alpha/chat"' in page.text and 'id="api-key"' in page.text
    assert 'src="../../static/app.js"' in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/bots/no such bot/").status_code == 404


def test_metrics_and_analytics_need_an_admin_key_from_elsewhere(client, registry: Registry) -> None:
    keys = KeyStore(registry)
    admin, _ = keys.create(admin=True)
    alpha, _ = keys.create(bot="alpha")
    client.post("/v1/bots/alpha/parse", json={"text": "부산 날씨 알려줘"}, headers=bearer(admin))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(alpha)).status_code == 403
    body = client.get("/metrics", headers=bearer(admin)).text
    assert 'malmoi_requests_total{bot="alpha",route="/v1/bots/{bot}/parse",status="200"} 1.0' in body
    assert "malmoi_cache_entries" in body and 'malmoi_parses_total{bot="alpha"' in body
    assert client.get("/analytics", headers=bearer(alpha)).status_code == 403
    page = client.get("/analytics?bot=alpha&since=1d", headers=bearer(admin))
    assert page.status_code == 200 and "Plotly.newPlot" in page.text
    assert "script-src 'unsafe-inline'" in page.headers["content-security-policy"]
    assert client.get("/analytics?since=soon", headers=bearer(admin)).status_code == 422


def test_the_startup_line_names_every_page_and_route(client, registry: Registry) -> None:
    from malmoi.serve._server import offered
    from malmoi.serve.settings import ServeSettings
    from route_names import named_paths, served_paths

    line = offered(ServeSettings.model_validate({"registry": registry.root}))
    assert "GET /v1/bots," in line and "/bots/{bot}/ (chat)" in line
    assert served_paths(client.app) - named_paths(line) == set()
    assert named_paths(line) - served_paths(client.app) == set()
