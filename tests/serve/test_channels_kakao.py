"""KakaoTalk's skill protocol 2.0 at /channels/kakao: slot filling per user, quick replies from a
slot's choices, the 5 s limit, and bad payloads as 4xx JSON."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from malmoi.serve.builder import build_app
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import OneBot
from model_files import edit_model_json

testclient = pytest.importorskip("fastapi.testclient")


def skill(user: str, text: Any) -> dict[str, Any]:
    """A skill request as Open Builder sends it (the fields malmoi reads, and those it ignores)."""
    return {"intent": {"id": "b1", "name": "폴백 블록"}, "bot": {"id": "bot1", "name": "테스트"},
            "action": {"id": "a1", "name": "malmoi", "params": {}, "detailParams": {}, "clientExtra": {}},
            "userRequest": {"timezone": "Asia/Seoul", "block": {"id": "b1", "name": "폴백 블록"},
                            "utterance": text, "lang": "ko",
                            "user": {"id": user, "type": "botUserKey", "properties": {}}}}


def client_for(model_dir: Path, tmp_path: Path, **options: Any) -> testclient.TestClient:
    settings = ServeSettings.model_validate({"model_dir": model_dir, "database_url": f"sqlite:///{tmp_path / 's.db'}",
                                             **options})
    return testclient.TestClient(build_app(OneBot(settings), settings), base_url="http://localhost",
                                 raise_server_exceptions=False)


@pytest.fixture
def choices_model(chat_model_dir: Path, tmp_path: Path) -> Path:
    """The chat model, its weather scenario offering three cities as choices."""
    out = shutil.copytree(chat_model_dir, tmp_path / "model")

    def edit(meta: dict[str, Any]) -> None:
        location = meta["config"]["scenarios"]["weather"]["entities"]["LOCATION"]
        location["choices"] = ["서울", "부산", "제주도 서귀포시 중문동"]
    return edit_model_json(out, edit)


@pytest.fixture
def client(choices_model: Path, tmp_path: Path) -> Iterator[testclient.TestClient]:
    with client_for(choices_model, tmp_path) as client:
        yield client


def texts(body: dict[str, Any]) -> str:
    assert body["version"] == "2.0"
    return " ".join(o["simpleText"]["text"] for o in body["template"]["outputs"])


def test_kakao_asks_then_fills_the_slot_with_quick_replies(client) -> None:
    first = client.post("/channels/kakao", json=skill("k1", "내일 날씨 알려줘"))
    assert first.status_code == 200, first.text
    assert texts(first.json()) == "어느 지역의 날씨를 알려드릴까요?"
    assert first.json()["template"]["quickReplies"] == [
        {"label": "서울", "action": "message", "messageText": "서울"},
        {"label": "부산", "action": "message", "messageText": "부산"},
        {"label": "제주도 서귀포시 중문동"[:14], "action": "message", "messageText": "제주도 서귀포시 중문동"},
    ]
    second = client.post("/channels/kakao", json=skill("k1", "부산")).json()
    assert texts(second) == "내일 부산 날씨는 맑아요."
    assert second["template"]["quickReplies"] == []  # nothing asked: no buttons


def test_kakao_users_are_apart_from_each_other_and_from_other_channels(client) -> None:
    client.post("/channels/kakao", json=skill("k2", "내일 날씨 알려줘"))
    # Only k2 said 내일: another user's 부산 does not finish k2's question.
    other = client.post("/channels/kakao", json=skill("k3", "부산")).json()
    assert "내일" not in texts(other)
    # The chat API's user "k2" is not KakaoTalk's user "k2".
    api = client.post("/v1/chat", json={"user_id": "k2", "text": "부산"}).json()
    assert "내일" not in api["answer"]
    assert texts(client.post("/channels/kakao", json=skill("k2", "부산")).json()) == "내일 부산 날씨는 맑아요."
    store = client.app.state.store
    store.flush()
    assert {m["source"] for m in store.messages(user_id="kakao:k2")} == {"kakao"}


@pytest.mark.parametrize("body", [
    {"userRequest": {"utterance": 3}},
    {"userRequest": {"utterance": "안녕", "user": {}}},
    {"userRequest": {"utterance": "\u200b", "user": {"id": "k"}}},
    {"action": {}},
    [],
])
def test_kakao_bad_payload_is_4xx_json(client, body) -> None:
    response = client.post("/channels/kakao", json=body)
    assert 400 <= response.status_code < 500 and response.status_code != 404, response.text
    assert response.json()["error"]["code"]


class _SlowWebhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        time.sleep(1.5)
        body = b'{"answer": "late"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_kakao_answers_the_failure_text_when_the_webhook_is_too_slow(chat_model_dir: Path, tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowWebhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = shutil.copytree(chat_model_dir, tmp_path / "model")

        def edit(meta: dict[str, Any]) -> None:
            meta["config"]["dialogue"]["answers"].pop("greeting")
            meta["config"]["scenarios"]["greeting"] = {
                "webhook": {"url": f"http://127.0.0.1:{server.server_port}/hook", "timeout": 5},
                "failure_answer": "지금은 답하기 어려워요."}
        edit_model_json(out, edit)
        with client_for(out, tmp_path, channel_deadline=0.5) as client:
            started = time.monotonic()
            body = client.post("/channels/kakao", json=skill("slow", "안녕하세요")).json()
            assert time.monotonic() - started < 1.4  # answered before the webhook did
            assert texts(body) == "지금은 답하기 어려워요."
    finally:
        server.shutdown()
