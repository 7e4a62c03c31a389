"""Issue 10, in process: bodies that are not JSON text, invisible text, Kochat paths, a broken
conversation store, and what the server does against hostile pages (headers, hosts, /docs)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from malmoi.serve import create_app

testclient = pytest.importorskip("fastapi.testclient")

STATIC = Path(__file__).resolve().parents[2] / "src" / "malmoi" / "serve" / "static"


@pytest.fixture(scope="module")
def app(chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return create_app(chat_model_dir, database_url=str(tmp_path_factory.mktemp("robust") / "state.sqlite3"))


@pytest.fixture(scope="module")
def client(app) -> Iterator:
    with testclient.TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


# -- a broken conversation store: 503, /health says so ---------------------------------------


@pytest.fixture
def own_store(chat_model_dir: Path, tmp_path: Path) -> Iterator:
    database = tmp_path / "state.sqlite3"
    app = create_app(chat_model_dir, database_url=f"sqlite:///{database}")
    with testclient.TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        assert client.post("/v1/chat", json={"user_id": "s1", "text": "내일 날씨 알려줘"}).status_code == 200
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["store"] == "ok" and health.json()["status"] == "ok"
        yield client, database


def assert_store_unavailable(client) -> None:
    assert_error(client.post("/v1/chat", json={"user_id": "s1", "text": "부산"}), 503, "store_unavailable")
    assert_error(client.get("/request_chat/s1/부산"), 503, "store_unavailable")
    health = client.get("/health")
    assert health.status_code == 503, health.text
    assert health.json()["store"] == "unavailable" and health.json()["status"] == "degraded"
    # Parsing needs no store: it goes on working, and the server with it.
    assert client.post("/v1/parse", json={"text": "부산 날씨"}).status_code == 200


def test_corrupted_database_is_503_store_unavailable(own_store) -> None:
    client, database = own_store
    noise = random.Random(10)
    for file in database.parent.glob(database.name + "*"):  # the file, its -wal and -shm, in place
        file.write_bytes(noise.randbytes(max(file.stat().st_size, 4096)))
    assert_store_unavailable(client)


def test_deleted_database_file_is_503_not_writes_into_the_void(own_store) -> None:
    client, database = own_store
    for file in database.parent.glob(database.name + "*"):
        file.unlink()
    assert_store_unavailable(client)


def test_health_reports_the_store(client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["store"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "503" in spec["paths"]["/health"]["get"]["responses"]
