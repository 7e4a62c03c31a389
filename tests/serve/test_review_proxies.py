"""The review page's "this machine only" rule behind proxies: proxy headers count only from listed proxies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")
from fastapi import testclient

from malmoi.cli import main
from malmoi.serve import create_app
from malmoi.serve.proxies import trust_proxies
from malmoi.serve.settings import ENV_SETTINGS

LOOPBACK = ("127.0.0.1", 50000)


def review_status(app: Any, peer: tuple[str, int], headers: dict[str, str]) -> int:
    with testclient.TestClient(app, base_url="http://localhost", client=peer) as client:
        return client.get("/review", headers=headers).status_code


@pytest.fixture
def app(tiny_model_dir: Path, tiny_bot: Path, tmp_path: Path) -> Any:
    return create_app(tiny_model_dir, database_url=f"sqlite:///{tmp_path / 's.sqlite3'}", review_data=tiny_bot)


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-For": "127.0.0.1"}, {"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=127.0.0.1"},
    {"X-Real-IP": "127.0.0.1"}, {"x-forwarded-for": ""},
])
def test_a_request_through_a_proxy_is_not_local_when_no_proxy_is_listed(app: Any, headers: dict[str, str]) -> None:
    # A proxy on this machine (the connection comes from 127.0.0.1) relays requests from anyone.
    assert review_status(app, LOOPBACK, {}) == 200
    assert review_status(app, LOOPBACK, headers) == 403


@pytest.mark.parametrize(("peer", "headers", "status"), [
    (("127.0.0.1", 50000), {"X-Forwarded-For": "127.0.0.1"}, 200),  # the listed proxy, for a local client
    (("127.0.0.1", 50000), {"X-Forwarded-For": "203.0.113.9"}, 403),  # ... for a remote one
    (("127.0.0.1", 50000), {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}, 403),  # a claim the proxy appended to
    (("127.0.0.1", 50000), {"Forwarded": "for=127.0.0.1"}, 403),  # a header that is not read
    (("127.0.0.1", 50000), {"X-Real-IP": "127.0.0.1"}, 403),
    (("10.0.0.9", 50000), {"X-Forwarded-For": "127.0.0.1"}, 403),  # not a listed proxy: its claim is not read
    (("10.0.0.9", 50000), {}, 403),
    (("127.0.0.1", 50000), {}, 200),
])
def test_a_listed_proxy_is_believed_about_its_client(app: Any, peer: tuple[str, int], headers: dict[str, str],
                                                     status: int) -> None:
    trust_proxies(app, "127.0.0.1")
    assert review_status(app, peer, headers) == status


def test_serve_trusts_no_proxy_headers_unless_told(tiny_model_dir: Path, tiny_bot: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    started: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append((app, options)))
    monkeypatch.setenv(ENV_SETTINGS, "")  # run() passes its settings to its workers in the environment:
    monkeypatch.delenv(ENV_SETTINGS)  # unset here, and unset again after the test
    serve = ["serve", str(tiny_model_dir), "--review-data", str(tiny_bot),
             "--database-url", f"sqlite:///{tmp_path / 's.sqlite3'}"]
    assert main(serve) == 0
    assert main([*serve, "--forwarded-allow-ips", "10.0.0.5"]) == 0
    (plain, plain_options), (proxied, proxied_options) = started
    assert plain_options["proxy_headers"] is False and proxied_options["proxy_headers"] is False
    # uvicorn rewrites nothing; the app reads X-Forwarded-For from 10.0.0.5 only.
    assert review_status(plain, LOOPBACK, {"X-Forwarded-For": "127.0.0.1"}) == 403
    assert review_status(proxied, ("10.0.0.5", 1), {"X-Forwarded-For": "127.0.0.1"}) == 200
    assert review_status(proxied, LOOPBACK, {"X-Forwarded-For": "127.0.0.1"}) == 403
