"""Issue 10, in process: bodies that are not JSON text, invisible text, Kochat paths, a broken
conversation store, and what the server does against hostile pages (headers, hosts, /docs)."""

from __future__ import annotations

import base64
import hashlib
import random
import re
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


# -- bodies that are not JSON text: 400 invalid_json saying what and where --------------------

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers", "says"),
    [
        pytest.param(b"[" * 30_000 + b"]" * 30_000, JSON,
                     r"at character 29999: arrays and objects are nested 30000 levels deep", id="deep-nesting"),
        pytest.param(b'{"text": "caf\xe9"}', JSON, r"at character 13: byte 0xe9 is not UTF-8", id="latin-1-byte"),
        pytest.param('{"text": "안녕"}'.encode("euc-kr"), {"content-type": "application/json; charset=euc-kr"},
                     r"at character 10: byte 0xbe is not UTF-8 text; the Content-Type says charset=euc-kr, "
                     r"but the body must be UTF-8", id="euc-kr"),
        pytest.param(b'{"text": "a", "n": ' + b"7" * 5000 + b"}", JSON,
                     r"at character 19: a number with 5000 digits; the server reads at most 4300", id="long-number"),
        pytest.param(b'{"text": "a"', JSON, r"at character 12: Expecting ',' delimiter", id="cut-short"),
    ],
)
def test_body_that_is_not_json_text_is_invalid_json_with_position(client, body, headers, says) -> None:
    assert len(body) <= 64 * 1024  # not the body-size limit answering
    for path in ("/v1/parse", "/v1/chat"):
        error = assert_error(client.post(path, content=body, headers=headers), 400, "invalid_json")
        assert re.search(says, error["message"]), error["message"]
        assert error["message"].startswith("the body is not valid JSON")


def test_charset_parameter_is_not_needed_for_utf8_json(client) -> None:
    # RFC 8259: JSON is UTF-8 and application/json has no charset; an ASCII body is the same in any.
    response = client.post("/v1/parse", content=b'{"text": "hello"}',
                           headers={"content-type": "application/json; charset=ISO-8859-1"})
    assert response.status_code == 200, response.text


# -- text with no visible character is empty ----------------------------------------------------

INVISIBLE = ["\u200b", "\ufeff", "\u200b\u200c", "\u200d \u2060\n", "\u3164", "\u115f\u1160", "\u2800", "\ufe0f"]


@pytest.mark.parametrize("text", INVISIBLE, ids=[t.encode("unicode_escape").decode() for t in INVISIBLE])
def test_invisible_only_text_is_empty(client, text: str) -> None:
    assert_error(client.post("/v1/parse", json={"text": text}), 422, "empty_text")
    assert_error(client.post("/v1/chat", json={"user_id": "inv", "text": text}), 422, "empty_text")
    assert_error(client.post("/v1/chat", json={"user_id": text, "text": "안녕"}), 422, "empty_user_id")
    from urllib.parse import quote

    assert_error(client.get(f"/get_intent/{quote(text)}"), 422, "empty_text")
    assert_error(client.get(f"/request_chat/inv/{quote(text)}"), 422, "empty_text")


def test_text_with_a_visible_character_and_zero_width_ones_is_accepted(client) -> None:
    response = client.post("/v1/parse", json={"text": "\u200b안녕\u200b"})
    assert response.status_code == 200, response.text


# -- Kochat: a slash in a user id, requests from other sites -----------------------------------


def test_kochat_user_id_keeps_an_encoded_slash(client, app) -> None:
    store = app.state.store
    first = client.get("/request_chat/team%2Falice/맛집 추천해줘").json()
    assert first["input"] == ["맛집", "추천해줘"] and first["state"] == "REQUIRE_LOCATION_RESTAURANT", first
    assert store.load("tiny", "team") == (None, 0)  # not user "team" saying "alice/맛집 추천해줘"
    assert store.load("tiny", "team/alice")[1] == 1
    second = client.get("/fill_slot/team%2Falice/서울").json()
    assert second["state"] == "REQUIRE_RESTAURANT" and second["input"] == ["서울"], second
    assert client.get("/fill_slot/team%2Falice/떡볶이").json()["answer"] == "서울 떡볶이 맛집을 찾아볼게요."
    # A slash left unencoded still belongs to the text, as before.
    assert client.get("/get_intent/a/b").json()["input"] == "a/b"


@pytest.mark.parametrize("route", ["request_chat", "fill_slot"])
def test_kochat_chat_routes_refuse_cross_site_requests(client, app, route: str) -> None:
    user = f"csrf-{route}"
    for site in ("cross-site", "same-site"):
        error = assert_error(client.get(f"/{route}/{user}/맛집 추천해줘", headers={"sec-fetch-site": site}),
                             403, "cross_site_request")
        assert site in error["message"]
    assert app.state.store.load("tiny", user) == (None, 0)  # nothing changed
    for site in ("same-origin", "none"):  # the server's own page; typed in the address bar
        assert client.get(f"/{route}/{user}/안녕", headers={"sec-fetch-site": site}).status_code == 200
    assert client.get(f"/{route}/{user}/안녕").status_code == 200  # not a browser


def test_openapi_documents_the_cross_site_answer(client) -> None:
    spec = client.get("/openapi.json").json()
    assert "403" in spec["paths"]["/request_chat/{uid}/{text}"]["get"]["responses"]


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


# -- security headers, /docs offline, allowed hosts ----------------------------------------------


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/health", "/openapi.json", "/docs", "/nothing",
                                  "/get_intent/%20"])
def test_every_response_has_security_headers(client, path: str) -> None:
    headers = client.get(path).headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["script-src"].startswith("'self'") and "unsafe" not in policy["script-src"]
    assert policy["connect-src"] == "'self'" and policy["style-src"] == "'self'"


def test_chat_page_needs_nothing_the_policy_forbids() -> None:
    # What the page's CSP ("script-src 'self'; style-src 'self'") would block: inline scripts,
    # inline styles, event-handler attributes, and files from other origins.
    for name in ("index.html",):
        html = (STATIC / name).read_text("utf-8")
        assert all(src.startswith("static/") for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html))
        assert len(re.findall(r"<script", html)) == len(re.findall(r'<script[^>]*\bsrc="', html))
        assert "<style" not in html and not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)
        assert not re.search(r'(href|src)="(https?:)?//', html)
    script = (STATIC / "app.js").read_text("utf-8")
    assert "innerHTML" not in script.replace("never innerHTML", "") and "eval(" not in script
    assert not re.search(r'fetch\(\s*["\'`](https?:)?//', script)


def test_docs_are_served_from_this_server(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/assets/swagger-ui-bundle.js" in urls and "/docs/assets/swagger-ui.css" in urls
    assert all(url.startswith("/") for url in urls), urls  # nothing from a CDN
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert_error(client.get("/docs/assets/swagger-editor-bundle.js"), 404, "not_found")
    # The one inline script that starts Swagger UI is allowed by its hash, and only it.
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["content-security-policy"]
    assert "validatorUrl" in inline[0]  # off: the validator badge would call swagger.io
    assert_error(client.get("/redoc"), 404, "not_found")  # ReDoc exists only on a CDN


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."])
def test_loopback_hosts_are_answered(client, host: str) -> None:
    assert client.get("/health", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::2]:80", ""])
def test_other_hosts_get_400_invalid_host(client, host: str) -> None:
    error = assert_error(client.get("/health", headers={"host": host}), 400, "invalid_host")
    assert "--allowed-host" in error["message"]
    assert_error(client.post("/v1/chat", json={"user_id": "h", "text": "안녕"}, headers={"host": host}),
                 400, "invalid_host")


def test_allowed_hosts_setting(chat_model_dir: Path, tmp_path: Path) -> None:
    app = create_app(chat_model_dir, database_url=f"sqlite:///{tmp_path / 's.sqlite3'}",
                     allowed_hosts=["bot.example.com", "*.example.org"], read_timeout=None)
    with testclient.TestClient(app, base_url="http://localhost") as client:
        for host, status in [("bot.example.com", 200), ("bot.example.com:443", 200), ("a.example.org", 200),
                             ("example.org", 400), ("localhost", 400), ("other.example.com", 400)]:
            assert client.get("/health", headers={"host": host}).status_code == status, host
        # No read timeout: the body size is still limited, also without a Content-Length.
        chunks = iter([b'{"text": "', b"a" * 70_000, b'"}'])
        response = client.post("/v1/parse", content=chunks, headers={**JSON, "host": "bot.example.com"})
        assert_error(response, 413, "body_too_large")
    anything = create_app(chat_model_dir, database_url=f"sqlite:///{tmp_path / 's.sqlite3'}", allowed_hosts=["*"])
    with testclient.TestClient(anything, base_url="http://whatever.example") as client:
        assert client.get("/health").status_code == 200
