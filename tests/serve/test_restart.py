"""Durable conversations over real HTTP: a server killed with SIGKILL and restarted between turns
loses nothing, on SQLite and on PostgreSQL; concurrent messages of one user lose no slot."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import pytest

from malmoi.dialogue import Dialogue, StateStore
from malmoi.model.result import EntitySpan, IntentScore, ParseResult
from malmoi.settings import BotConfig

httpx = pytest.importorskip("httpx")


def chat(server, user: str, text: str) -> dict:
    response = httpx.post(server.url + "/v1/chat", json={"user_id": user, "text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def scripted_conversation_survives_sigkill(server) -> None:
    server.start()
    first = chat(server, "alice", "내일 날씨 알려줘")
    assert first["answer"] == "어느 지역의 날씨를 알려드릴까요?", first
    assert first["state"]["status"] == "REQUIRE_LOCATION"
    other = chat(server, "bob", "맛집 추천해줘")  # a second user, mid-conversation too
    assert other["state"]["missing"] == ["LOCATION", "RESTAURANT"]

    server.kill()  # SIGKILL: no shutdown hook, no flush
    server.start()

    second = chat(server, "alice", "부산")
    assert second["answer"] == "내일 부산 날씨는 맑아요."
    assert second["state"]["status"] == "SUCCESS" and second["state"]["turn"] == 2
    assert chat(server, "bob", "대구")["state"]["missing"] == ["RESTAURANT"]
    assert chat(server, "bob", "떡볶이")["answer"] == "대구 떡볶이 맛집을 찾아볼게요."


def test_conversation_survives_sigkill_and_restart_sqlite(server_factory, chat_model_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "state.sqlite3"
    scripted_conversation_survives_sigkill(server_factory(chat_model_dir, f"sqlite:///{database}"))
    store = StateStore(f"sqlite:///{database}")
    texts = [row["text"] for row in store.messages(user_id="alice")]
    assert texts == ["내일 날씨 알려줘", "부산"]  # the log survived the kill as well


def test_conversation_survives_sigkill_and_restart_postgresql(
    server_factory, chat_model_dir: Path, postgres_url: str
) -> None:
    scripted_conversation_survives_sigkill(server_factory(chat_model_dir, postgres_url))


# -- concurrency on each database -----------------------------------------------------------


class _Stub:
    """Just what Dialogue needs of a model; messages are given as ParseResults."""

    intents: ClassVar[list[str]] = ["trip"]
    tags: ClassVar[list[str]] = ["O", "S-LOCATION", "S-DATE", "S-RESTAURANT"]
    config = BotConfig.model_validate({
        "name": "stub",
        "scenarios": {"trip": {"entities": {"LOCATION": {}, "DATE": {}, "RESTAURANT": {}},
                               "answer": "{DATE} {LOCATION} {RESTAURANT}"}},
    })


def _message(text: str, entity: str | None) -> ParseResult:
    spans = [EntitySpan(entity=entity, value=text, start=0, end=len(text))] if entity else []
    score = IntentScore(name="trip", confidence=0.99)
    return ParseResult(text=text, intent=score, intent_ranking=[score], fallback=False, entities=spans)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def test_concurrent_messages_of_one_user_never_lose_a_slot(database_url: str) -> None:
    store = StateStore(database_url)
    load = store.load

    def slow_load(*args):  # widen the read-modify-write window so that writes really collide
        result = load(*args)
        threading.Event().wait(0.01)
        return result

    store.load = slow_load  # type: ignore[method-assign]
    bot = Dialogue(_Stub(), store=store)
    users = [f"c{i}-{database_url[:6]}" for i in range(6)]
    for user in users:
        store.delete("stub", user)
        bot.respond(user, _message("여행", None))
    replies = [("부산", "LOCATION"), ("내일", "DATE"), ("국밥", "RESTAURANT")]
    barrier = threading.Barrier(len(users) * len(replies))
    errors: list[BaseException] = []

    def send(user: str, text: str, entity: str) -> None:
        try:
            barrier.wait()
            bot.respond(user, _message(text, entity))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(u, *r)) for u in users for r in replies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for user in users:
        state = bot.state(user)
        assert state.status == "SUCCESS" and state.turn == 4, state
        assert state.slots == {"LOCATION": "부산", "DATE": "내일", "RESTAURANT": "국밥"}
    store.close()
