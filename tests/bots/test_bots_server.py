"""The multi-bot server: routes per bot, API keys, version switches, the memory cap, conversations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")
httpx = pytest.importorskip("httpx", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")

from fastapi import testclient  # noqa: E402

import malmoi  # noqa: E402
from malmoi.bots import KeyStore, Registry  # noqa: E402
from malmoi.bots.cache import model_bytes  # noqa: E402
from malmoi.serve.builder import create_bots_app  # noqa: E402


def make_client(registry: Registry, tmp_path: Path, **options) -> testclient.TestClient:
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}", **options)
    return testclient.TestClient(app, base_url="http://localhost", raise_server_exceptions=False)


@pytest.fixture
def client(registry: Registry, tmp_path: Path) -> Iterator[testclient.TestClient]:
    with make_client(registry, tmp_path) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_key_for_one_bot_gets_403_on_another(registry: Registry, client: testclient.TestClient,
                                             check_key_isolation: Callable[..., None]) -> None:
    check_key_isolation(client, registry)


def test_server_answers_as_the_model_directory(registry: Registry, tmp_path: Path, variant_dirs: list[Path]) -> None:
    expected = malmoi.load(variant_dirs[1]).parse("부산 국밥 맛집 추천해줘").model_dump(mode="json")
    with make_client(registry, tmp_path, require_keys=False) as client:
        answer = client.post("/v1/bots/beta/parse", json={"text": "부산 국밥 맛집 추천해줘"})
    assert answer.status_code == 200 and answer.json() == expected
    assert answer.headers["X-Malmoi-Version"] == "v000001"


def test_version_switch_and_rollback_without_restart(registry: Registry, tmp_path: Path,
                                                     variant_dirs: list[Path]) -> None:
    text = {"text": "내일 서울 날씨 알려줘"}
    with make_client(registry, tmp_path, require_keys=False) as client:
        before = client.post("/v1/bots/alpha/parse", json=text).json()
        registry.publish(variant_dirs[2], bot="alpha")
        after = client.post("/v1/bots/alpha/parse", json=text)
        assert after.headers["X-Malmoi-Version"] == "v000002" and after.json() != before
        assert after.json() == malmoi.load(variant_dirs[2]).parse(text["text"]).model_dump(mode="json")
        registry.rollback("alpha")
        again = client.post("/v1/bots/alpha/parse", json=text)
        assert again.headers["X-Malmoi-Version"] == "v000001" and again.json() == before
        stats = client.get("/v1/stats").json()
    assert stats["entries"] == 1  # the version switched away from was dropped


def test_conversations_are_kept_per_bot(client: testclient.TestClient, registry: Registry,
                                        check_conversations: Callable[..., None]) -> None:
    key, _ = KeyStore(registry).create(admin=True)
    check_conversations(client, client.app.state.store, bearer(key))  # type: ignore[attr-defined]


def test_memory_cap_holds_under_load_touching_more_bots_than_fit(tmp_path: Path, variant_dirs: list[Path]) -> None:
    from malmoi.bots.synthetic import perturbed_copy

    registry = Registry(tmp_path / "reg")
    names = [f"bot{i}" for i in range(12)]
    for i, name in enumerate(names):
        registry.publish(perturbed_copy(variant_dirs[0], tmp_path / "m" / name, seed=i), bot=name)
    one = model_bytes(malmoi.load(registry.live_path("bot0")[1]), registry.live_path("bot0")[1])  # type: ignore[index]
    cap = 4 * one + one // 2  # room for four bots
    with make_client(registry, tmp_path, require_keys=False, cache_bytes=cap) as client:
        peak = 0
        for round_ in range(3):
            for name in names:
                answer = client.post(f"/v1/bots/{name}/parse", json={"text": f"내일 서울 날씨 {round_}"})
                assert answer.status_code == 200
                stats = client.get("/v1/stats").json()
                peak = max(peak, stats["bytes"])
                assert stats["entries"] <= 4
    assert peak <= cap and stats["evictions"] == 36 - 4 and stats["misses"] == 36


def test_burst_of_first_requests_through_the_server_loads_once(registry: Registry, tmp_path: Path) -> None:
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 's.sqlite3'}", require_keys=False)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            answers = await asyncio.gather(*(client.post("/v1/bots/gamma/parse", json={"text": f"안녕 {i}"})
                                             for i in range(12)))
            return [a.status_code for a in answers]

    try:
        assert asyncio.run(burst()) == [200] * 12
        stats = app.state.source.cache.stats()
    finally:  # no lifespan here (ASGITransport): close what it would have closed
        app.state.source.close()
    assert stats.misses == 1 and stats.entries == 1 and stats.hits + stats.waits == 11


def test_bad_bot_names_and_bodies_are_4xx_json(client: testclient.TestClient, registry: Registry) -> None:
    key, _ = KeyStore(registry).create(admin=True)
    answer = client.post("/v1/bots/..%2Fetc/parse", json={"text": "안녕"}, headers=bearer(key))
    assert answer.status_code == 404 and "error" in answer.json()
    headers = {**bearer(key), "content-type": "application/json"}
    answer = client.post("/v1/bots/alpha/parse", content=b"{", headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_json"
    # Read by malmoi's JSON reader, as on the one-model server: what is wrong, and where.
    answer = client.post("/v1/bots/alpha/parse", content='{"text": "caf\xe9"}'.encode("latin-1"), headers=headers)
    assert answer.status_code == 400
    assert "at character 13: byte 0xe9 is not UTF-8 text" in answer.json()["error"]["message"]
    answer = client.post("/v1/bots/alpha/parse", json={"text": ""}, headers=bearer(key))
    assert answer.status_code == 422


def test_kochat_routes_per_bot(client: testclient.TestClient, registry: Registry) -> None:
    keys = KeyStore(registry)
    alpha, _ = keys.create(bot="alpha")
    asked = client.get("/v1/bots/alpha/request_chat/u%2F1/날씨 알려줘", headers=bearer(alpha))
    assert asked.status_code == 200 and asked.json()["state"].startswith("REQUIRE_LOCATION")
    filled = client.get("/v1/bots/alpha/fill_slot/u%2F1/부산", headers=bearer(alpha)).json()
    assert filled["state"] == "SUCCESS" and filled["input"] == ["부산"]
    assert client.app.state.store.load("alpha", "u/1")[0] is not None  # type: ignore[attr-defined]
    intent = client.get("/v1/bots/alpha/get_intent/내일 서울 날씨", headers=bearer(alpha)).json()
    assert intent["intent"] == "weather" and intent["state"] == "REQUEST_INTENT"
    assert client.get("/v1/bots/beta/get_entity/서울", headers=bearer(alpha)).status_code == 403
    assert client.get("/v1/bots/alpha/get_entity/서울").status_code == 401


def test_bot_that_cannot_load_on_this_server_is_503_json(registry: Registry, tmp_path: Path) -> None:
    live = registry.live_path("beta")
    assert live is not None
    (live[1] / "intent.safetensors").write_bytes(b"\0" * 10)  # damaged after publishing
    with make_client(registry, tmp_path, require_keys=False) as client:
        answer = client.post("/v1/bots/beta/parse", json={"text": "안녕"})
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "bot_unavailable"
        assert "intent.safetensors" in answer.json()["error"]["message"]
        assert client.post("/v1/bots/alpha/parse", json={"text": "안녕"}).status_code == 200
