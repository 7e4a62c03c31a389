"""LINE, Slack and Telegram webhooks against fake platform APIs on 127.0.0.1: signatures checked
(a forged one is 401 and nothing is answered), answers delivered through the platform's API,
conversations kept per platform user."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from malmoi.serve.builder import build_app
from malmoi.serve.channels.line import line_signature
from malmoi.serve.channels.slack import slack_signature
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import OneBot

testclient = pytest.importorskip("fastapi.testclient")

SECRETS = {
    "MALMOI_LINE_CHANNEL_SECRET": "line-secret", "MALMOI_LINE_ACCESS_TOKEN": "line-token",
    "MALMOI_SLACK_SIGNING_SECRET": "slack-secret", "MALMOI_SLACK_BOT_TOKEN": "xoxb-slack",
    "MALMOI_TELEGRAM_SECRET_TOKEN": "tg-secret", "MALMOI_TELEGRAM_BOT_TOKEN": "123:tg",
}


class FakePlatform(http.server.BaseHTTPRequestHandler):
    """Records every POST (path, headers, JSON body) and answers 200 {"ok": true}."""

    received: ClassVar[list[tuple[str, dict[str, str], Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def platform() -> Iterator[tuple[str, list]]:
    FakePlatform.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakePlatform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", FakePlatform.received
    server.shutdown()


@pytest.fixture
def client(chat_model_dir: Path, tmp_path: Path, platform, monkeypatch) -> Iterator[testclient.TestClient]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    base = platform[0]
    settings = ServeSettings.model_validate({
        "model_dir": chat_model_dir, "database_url": f"sqlite:///{tmp_path / 's.db'}",
        "line_api": base, "slack_api": base + "/api", "telegram_api": base})
    with testclient.TestClient(build_app(OneBot(settings), settings), base_url="http://localhost",
                               raise_server_exceptions=False) as client:
        yield client


# -- LINE --------------------------------------------------------------------------------------

def line_event(user: str, text: str, token: str = "r1") -> bytes:
    return json.dumps({"destination": "U0", "events": [{
        "type": "message", "replyToken": token, "source": {"type": "user", "userId": user},
        "message": {"type": "text", "id": "1", "text": text}}]}, ensure_ascii=False).encode()


def post_line(client, body: bytes, secret: str = "line-secret"):
    return client.post("/channels/line", content=body, headers={
        "content-type": "application/json", "x-line-signature": line_signature(secret, body)})


def test_line_answers_through_the_reply_api_and_keeps_the_user_state(client, platform) -> None:
    assert post_line(client, line_event("U1", "내일 날씨 알려줘", "r1")).json() == {"answered": 1, "delivered": 1}
    post_line(client, line_event("U1", "부산", "r2"))
    (path, headers, body), (_, _, second) = platform[1]
    assert path == "/v2/bot/message/reply" and headers["Authorization"] == "Bearer line-token"
    assert body == {"replyToken": "r1", "messages": [{"type": "text", "text": "어느 지역의 날씨를 알려드릴까요?"}]}
    assert second["messages"][0]["text"] == "내일 부산 날씨는 맑아요."


def test_line_forged_signature_is_401_and_nothing_is_answered(client, platform) -> None:
    body = line_event("U2", "내일 날씨 알려줘")
    forged = post_line(client, body, secret="guessed")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
    no_signature = client.post("/channels/line", content=body, headers={"content-type": "application/json"})
    assert no_signature.status_code == 401
    assert platform[1] == []
    assert client.app.state.store.load("tiny", "line:U2") == (None, 0)


def test_line_verification_without_events_is_acknowledged(client, platform) -> None:
    assert post_line(client, b'{"destination": "U0", "events": []}').json() == {"answered": 0}
    assert post_line(client, b'{"events": 3}').status_code == 422
    assert platform[1] == []


# -- Slack -------------------------------------------------------------------------------------

def post_slack(client, payload: dict, secret: str = "slack-secret", skew: float = 0.0, **headers: str):
    body = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(time.time() - skew))
    return client.post("/channels/slack", content=body, headers={
        "content-type": "application/json", "x-slack-request-timestamp": stamp,
        "x-slack-signature": slack_signature(secret, stamp, body), **headers})


def slack_message(user: str, text: str, **extra: Any) -> dict:
    return {"type": "event_callback", "event": {"type": "message", "user": user, "text": text,
                                                "channel": "C1", **extra}}


def test_slack_url_verification_handshake(client) -> None:
    assert post_slack(client, {"type": "url_verification", "challenge": "abc123"}).json() == {"challenge": "abc123"}


def test_slack_answers_with_chat_post_message(client, platform) -> None:
    assert post_slack(client, slack_message("W1", "내일 날씨 알려줘")).json() == {"answered": 1, "delivered": 1}
    path, headers, body = platform[1][0]
    assert path == "/api/chat.postMessage" and headers["Authorization"] == "Bearer xoxb-slack"
    assert body == {"channel": "C1", "text": "어느 지역의 날씨를 알려드릴까요?"}
    # The bot's own message, and Slack's retry of a request, are not answered.
    assert post_slack(client, slack_message("W1", "부산", bot_id="B1")).json() == {"answered": 0}
    assert post_slack(client, slack_message("W1", "부산"), **{"x-slack-retry-num": "1"}).json() == {"answered": 0}
    assert len(platform[1]) == 1


def test_slack_forged_or_replayed_requests_are_401(client, platform) -> None:
    assert post_slack(client, slack_message("W2", "안녕"), secret="guessed").status_code == 401
    assert post_slack(client, slack_message("W2", "안녕"), skew=600).status_code == 401  # a replay
    assert platform[1] == []


# -- Telegram ----------------------------------------------------------------------------------

def telegram_update(user: int, text: str) -> dict:
    return {"update_id": 1, "message": {"message_id": 1, "from": {"id": user}, "chat": {"id": user * 10},
                                        "text": text}}


def test_telegram_answers_with_send_message(client, platform) -> None:
    headers = {"x-telegram-bot-api-secret-token": "tg-secret"}
    assert client.post("/channels/telegram", json=telegram_update(7, "내일 날씨 알려줘"), headers=headers).json() \
        == {"answered": 1, "delivered": 1}
    client.post("/channels/telegram", json=telegram_update(7, "부산"), headers=headers)
    (path, _, body), (_, _, second) = platform[1]
    assert path == "/bot123:tg/sendMessage"
    assert body == {"chat_id": 70, "text": "어느 지역의 날씨를 알려드릴까요?"}
    assert second["text"] == "내일 부산 날씨는 맑아요."


def test_telegram_wrong_secret_token_is_401(client, platform) -> None:
    for headers in ({"x-telegram-bot-api-secret-token": "guessed"}, {}):
        response = client.post("/channels/telegram", json=telegram_update(8, "안녕"), headers=headers)
        assert response.status_code == 401
    assert platform[1] == []


def test_a_channel_without_its_secret_is_not_set_up(client, monkeypatch) -> None:
    monkeypatch.delenv("MALMOI_TELEGRAM_SECRET_TOKEN")
    response = client.post("/channels/telegram", json=telegram_update(9, "안녕"))
    assert response.status_code == 404 and "MALMOI_TELEGRAM_SECRET_TOKEN" in response.json()["error"]["message"]
