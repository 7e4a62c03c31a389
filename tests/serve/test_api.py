"""The HTTP API in-process: routes, Kochat compatibility, and that bad input is a 4xx, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from malmoi.serve import create_app

testclient = pytest.importorskip("fastapi.testclient")


@pytest.fixture(scope="module")
def app(chat_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return create_app(chat_model_dir, database_url=str(tmp_path_factory.mktemp("api") / "state.sqlite3"))


@pytest.fixture(scope="module")
def client(app) -> Iterator:
    # Server exceptions become responses, as for a real client: a bug must show as a JSON 500.
    # localhost: the app answers only the Host names of this machine's loopback by default.
    with testclient.TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def test_health_names_model_and_versions(client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["model"] == "tiny"
    assert body["version"] and len(body["model_version"]) == 12
    assert set(body["intents"]) == {"greeting", "restaurant", "weather"}


def test_parse_returns_parse_result(client) -> None:
    body = client.post("/v1/parse", json={"text": "내일 부산 날씨 알려줘"}).json()
    assert set(body) == {"text", "intent", "intent_ranking", "fallback", "entities"}
    assert body["intent"]["name"] == "weather"
    assert {"entity": "LOCATION", "value": "부산", "start": 3, "end": 5} in body["entities"]


def test_parse_is_logged(client, app) -> None:
    client.post("/v1/parse", json={"text": "모레 대구 비 와?"})
    app.state.store.flush()
    row = app.state.store.messages(limit=1)[-1]
    assert (row["text"], row["source"], row["intent"], row["user_id"]) == ("모레 대구 비 와?", "parse", "weather", None)


def test_chat_asks_for_city_then_answers(client) -> None:
    first = client.post("/v1/chat", json={"user_id": "api-1", "text": "내일 날씨 알려줘"}).json()
    assert first["answer"] == "어느 지역의 날씨를 알려드릴까요?"
    assert first["state"]["status"] == "REQUIRE_LOCATION" and first["state"]["slots"] == {"DATE": "내일"}
    assert first["parse"]["intent"]["name"] == "weather"
    second = client.post("/v1/chat", json={"user_id": "api-1", "text": "부산"}).json()
    assert second["answer"] == "내일 부산 날씨는 맑아요."
    assert second["state"]["status"] == "SUCCESS"


def test_a_conversation_can_be_forgotten(client, app) -> None:
    """DELETE /v1/conversations/{user_id}, as a registry's bots have it: the next message starts anew."""
    asked = client.post("/v1/chat", json={"user_id": "forget-1", "text": "내일 날씨 알려줘"}).json()
    assert asked["state"]["status"] == "REQUIRE_LOCATION"
    assert app.state.store.load("tiny", "forget-1")[0] is not None
    assert client.delete("/v1/conversations/forget-1").status_code == 204
    assert app.state.store.load("tiny", "forget-1") == (None, 0)
    again = client.post("/v1/chat", json={"user_id": "forget-1", "text": "부산"}).json()
    assert again["state"]["turn"] == 1 and again["state"]["slots"].get("DATE") != "내일"  # nothing kept
    assert client.delete("/v1/conversations/nobody").status_code == 204  # nothing to forget is no error


def test_kochat_request_chat_then_fill_slot(client) -> None:
    first = client.get("/request_chat/kochat-1/맛집 추천해줘").json()
    assert first == {
        "input": ["맛집", "추천해줘"], "intent": "restaurant", "entity": ["O", "O"],
        "state": "REQUIRE_LOCATION_RESTAURANT", "answer": "어느 동네에서 찾아볼까요?", "values": [],
    }
    assert client.get("/fill_slot/kochat-1/서울").json()["state"] == "REQUIRE_RESTAURANT"
    second = client.get("/fill_slot/kochat-1/떡볶이").json()
    assert second["state"] == "SUCCESS" and second["answer"] == "서울 떡볶이 맛집을 찾아볼게요."
    assert second["intent"] == "restaurant" and second["input"] == ["떡볶이"]


def test_kochat_get_intent_and_get_entity(client) -> None:
    intent = client.get("/get_intent/부산 날씨 알려줘").json()
    assert intent == {"input": "부산 날씨 알려줘", "intent": "weather", "entity": None,
                      "state": "REQUEST_INTENT", "answer": None, "values": None}
    entity = client.get("/get_entity/내일 부산 냉면 맛집").json()
    assert entity["state"] == "REQUEST_ENTITY" and entity["intent"] is None
    assert entity["entity"][:3] == ["B-DATE", "B-LOCATION", "B-RESTAURANT"]


def test_kochat_text_may_contain_slashes(client) -> None:
    assert client.get("/get_intent/a%2Fb").json()["input"] == "a/b"


def test_index_page_and_openapi(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/v1/parse", "/v1/chat", "/health", "/request_chat/{uid}/{text}"} <= set(spec["paths"])
    error = spec["paths"]["/v1/parse"]["post"]["responses"]["422"]
    assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "code"),
    [
        ("/v1/parse", b"", JSON, 422, "missing_body"),
        ("/v1/parse", b"{", JSON, 400, "invalid_json"),
        ("/v1/parse", b"[]", JSON, 422, "wrong_type"),
        ("/v1/parse", b"null", JSON, 422, "wrong_type"),
        ("/v1/parse", b'{"text": 1}', JSON, 422, "wrong_type"),
        ("/v1/parse", b'{"text": ["a"]}', JSON, 422, "wrong_type"),
        ("/v1/parse", b'{"txt": "a"}', JSON, 422, "missing_field"),
        ("/v1/parse", b'{"text": ""}', JSON, 422, "empty_text"),
        ("/v1/parse", b'{"text": " \\t\\n "}', JSON, 422, "empty_text"),
        ("/v1/parse", json.dumps({"text": "가" * 1001}).encode(), JSON, 422, "text_too_long"),
        ("/v1/parse", b'{"text": "a\\u0000b"}', JSON, 422, "invalid_text"),
        ("/v1/parse", b'{"text": "\\ud800"}', JSON, 422, "invalid_text"),
        ("/v1/parse", b'{"text": "a"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        ("/v1/parse", b'{"text": "' + b"a" * 70_000 + b'"}', JSON, 413, "body_too_large"),
        ("/v1/chat", b'{"text": "a"}', JSON, 422, "missing_field"),
        ("/v1/chat", b'{"user_id": 5, "text": "a"}', JSON, 422, "wrong_type"),
        ("/v1/chat", b'{"user_id": "", "text": "a"}', JSON, 422, "empty_user_id"),
        ("/v1/chat", json.dumps({"user_id": "u" * 201, "text": "a"}).encode(), JSON, 422, "user_id_too_long"),
    ],
)
def test_bad_request_is_4xx_json_naming_the_problem(client, path, body, headers, status, code) -> None:
    assert_error(client.post(path, content=body, headers=headers), status, code)


def test_text_at_the_limit_is_accepted(client) -> None:
    assert client.post("/v1/parse", json={"text": "날씨 " * 333}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nothing", 404, "not_found"),
        ("GET", "/v1/parse", 405, "method_not_allowed"),
        ("GET", "/get_intent/%20%20", 422, "empty_text"),
        ("GET", "/get_intent/" + "가" * 1001, 422, "text_too_long"),
        ("GET", "/request_chat/%20/안녕", 422, "empty_text"),
        ("GET", "/fill_slot/u1/a%00b", 422, "invalid_text"),
        ("GET", "/request_chat/u1", 422, "empty_text"),  # redirected to /request_chat/u1/
    ],
)
def test_bad_route_or_path_is_4xx_json(client, method, path, status, code) -> None:
    assert_error(client.request(method, path), status, code)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_bodies = st.one_of(
    st.fixed_dictionaries({"text": st.text(max_size=60)}),
    st.fixed_dictionaries({"user_id": st.text(max_size=20), "text": st.text(max_size=60)}),
    st.dictionaries(st.sampled_from(["text", "user_id", "x"]), _json_values, max_size=3),
    _json_values,
).map(lambda v: json.dumps(v).encode())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/v1/parse", "/v1/chat"]), body=_bodies | st.binary(max_size=40))
def test_fuzzed_bodies_never_give_500(client, path: str, body: bytes) -> None:
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code in (200, 400, 413, 415, 422), (body, response.text)
    if response.status_code != 200:
        assert set(response.json()["error"]) >= {"code", "message"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["request_chat/fz", "fill_slot/fz", "get_intent", "get_entity"]),
    text=st.text(min_size=1, max_size=40),
)
def test_fuzzed_kochat_paths_never_give_500(client, route: str, text: str) -> None:
    from urllib.parse import quote

    response = client.get(f"/{route}/{quote(text, safe='', errors='surrogatepass')}")
    assert response.status_code in (200, 404, 422), (text, response.text)


# -- the command line ------------------------------------------------------------------------


def test_serve_command_rejects_a_directory_without_model(tmp_path: Path, capsys) -> None:
    from malmoi.cli import main

    assert main(["serve", str(tmp_path)]) == 2
    assert "is not a malmoi model" in capsys.readouterr().err


def test_serve_command_names_a_scenario_for_an_unknown_intent(chat_model_dir: Path, tmp_path: Path, capsys) -> None:
    import shutil

    from malmoi.cli import main
    from model_files import edit_model_json

    broken = tmp_path / "model"
    shutil.copytree(chat_model_dir, broken)

    def misspell(meta: dict) -> None:
        meta["config"]["scenarios"]["wether"] = meta["config"]["scenarios"].pop("weather")

    edit_model_json(broken, misspell)
    assert main(["serve", str(broken), "--database-url", f"sqlite:///{tmp_path / 's.sqlite3'}"]) == 2
    assert "did you mean 'weather'" in capsys.readouterr().err


def test_load_scenarios_finds_the_module_s_scenarios(tmp_path: Path, monkeypatch) -> None:
    from malmoi.dialogue import Scenarios
    from malmoi.serve._server import load_scenarios

    (tmp_path / "my_actions.py").write_text(
        "from malmoi.dialogue import Scenarios\nscenarios = Scenarios()\n"
        "@scenarios.action('weather')\ndef weather(**slots):\n    return 'ok'\n",
        "utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = load_scenarios("my_actions")
    assert isinstance(found, Scenarios) and set(found.actions) == {"weather"}
    assert load_scenarios("my_actions:scenarios") is found
    with pytest.raises(ValueError, match=r"not a malmoi\.dialogue\.Scenarios"):
        load_scenarios("my_actions:Scenarios")
