"""Resolved values over HTTP: `reference_time` in parse and chat requests, `resolved` in the parse
result, a typed slot's date in the answer, and the Kochat routes' `values`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from malmoi.serve import create_app
from model_files import edit_model_json

testclient = pytest.importorskip("fastapi.testclient")

NOW = "2024-05-15T10:00:00+09:00"
TOMORROW = "2024-05-16T00:00:00+09:00"


def with_system_values(meta: dict[str, Any]) -> None:
    """The tiny model given a system-values part (as training makes it for `system_entities: [time]`)."""
    meta["config"]["system_entities"] = ["time"]
    meta["config"]["scenarios"]["weather"]["entities"]["DATE"] = {"type": "sys.time", "default": "오늘"}
    meta["config"]["scenarios"]["weather"]["answer"] = "{DATE:%-m월 %-d일} {LOCATION} 날씨는 맑아요."
    meta["parts"]["extractor-system-values"] = {
        "kind": "extractors", "type": "system-values.v1",
        "settings": {"type": "system-values.v1", "kinds": ["time"], "timezone": "Asia/Seoul"},
        "state": {"types": {"DATE": "sys.time"}}}


@pytest.fixture(scope="module")
def client(chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("values") / "model"
    shutil.copytree(chat_model_dir, folder)
    edit_model_json(folder, with_system_values)
    app = create_app(folder, database_url=str(folder.parent / "state.sqlite3"))
    with testclient.TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


def test_parse_resolves_relative_to_the_reference_time(client) -> None:
    body = client.post("/v1/parse", json={"text": "내일 부산 날씨 알려줘", "reference_time": NOW}).json()
    date = next(e for e in body["entities"] if e["entity"] == "DATE")
    assert (date["value"], date["resolved"], date["grain"]) == ("내일", TOMORROW, "day")
    later = client.post("/v1/parse", json={"text": "내일 부산 날씨 알려줘", "reference_time": "2024-06-30T23:00"})
    assert next(e for e in later.json()["entities"] if e["entity"] == "DATE")["resolved"] == "2024-07-01T00:00:00+09:00"
    location = next(e for e in body["entities"] if e["entity"] == "LOCATION")
    assert "resolved" not in location  # nothing to resolve: the entity as before


def test_chat_fills_the_typed_slot_and_the_answer_shows_the_date(client) -> None:
    message = {"user_id": "v1", "text": "내일 부산 날씨 알려줘", "reference_time": NOW}
    reply = client.post("/v1/chat", json=message).json()
    assert reply["answer"] == "5월 16일 부산 날씨는 맑아요."
    assert reply["state"]["resolved"] == {"DATE": TOMORROW}


def test_a_bad_reference_time_is_a_422_naming_the_field(client) -> None:
    response = client.post("/v1/parse", json={"text": "내일", "reference_time": "next tuesday"})
    assert response.status_code == 422 and "reference_time" in response.text


def test_kochat_routes_return_the_resolved_values(client) -> None:
    values = client.get("/get_entity/내일 부산 날씨").json()["values"]
    assert [(v["entity"], v["value"]) for v in values] == [("DATE", "내일")] and values[0]["grain"] == "day"
