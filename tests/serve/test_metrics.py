"""GET /metrics: Prometheus text of requests, latency, parse outcomes and store errors; local only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from malmoi.serve.builder import build_app
from malmoi.serve.settings import ServeSettings
from malmoi.serve.source import OneBot

testclient = pytest.importorskip("fastapi.testclient")
prometheus_parser = pytest.importorskip("prometheus_client.parser")


def make_client(model_dir: Path, tmp_path: Path, peer: tuple[str, int] = ("127.0.0.1", 5000),
                **options: object) -> testclient.TestClient:
    settings = ServeSettings.model_validate({"model_dir": model_dir, "database_url": f"sqlite:///{tmp_path / 's.db'}",
                                             **options})
    return testclient.TestClient(build_app(OneBot(settings), settings), base_url="http://localhost", client=peer,
                                 raise_server_exceptions=False)


@pytest.fixture
def client(chat_model_dir: Path, tmp_path: Path) -> Iterator[testclient.TestClient]:
    with make_client(chat_model_dir, tmp_path) as client:
        yield client


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text body, by name and labels (the official parser: the format is right)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in prometheus_parser.text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_requests_by_route_and_parses_by_intent(client) -> None:
    client.post("/v1/parse", json={"text": "내일 부산 날씨 알려줘"})
    client.post("/v1/parse", json={"text": "내일 부산 날씨 알려줘"})
    client.post("/v1/parse", json={"text": ""})  # 422
    client.get("/request_chat/u1/안녕하세요")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    requests = ("malmoi_requests_total", (("bot", "tiny"), ("route", "/v1/parse"), ("status", "200")))
    assert found[requests] == 2
    assert found[("malmoi_requests_total", (("bot", "tiny"), ("route", "/v1/parse"), ("status", "422")))] == 1
    # The route template, never the path: a path per user would grow the label set without end.
    kochat = "/request_chat/{uid}/{text:malmoi_text}"
    assert found[("malmoi_requests_total", (("bot", "tiny"), ("route", kochat), ("status", "200")))] == 1
    assert not any("u1" in str(labels) for _, labels in found)
    assert found[("malmoi_request_seconds_count", (("bot", "tiny"), ("route", "/v1/parse")))] == 3
    assert found[("malmoi_parses_total", (("bot", "tiny"), ("fallback", "false"), ("intent", "weather")))] == 2
    assert ("malmoi_store_errors_total", ()) in found
    client.get("/nowhere")
    assert samples(client.get("/metrics").text)[
        ("malmoi_requests_total", (("bot", "tiny"), ("route", "unmatched"), ("status", "404")))] == 1


def test_metrics_are_refused_to_other_machines_unless_open(chat_model_dir: Path, tmp_path: Path) -> None:
    with make_client(chat_model_dir, tmp_path, peer=("10.1.2.3", 5000)) as far:
        refused = far.get("/metrics")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    with make_client(chat_model_dir, tmp_path, peer=("10.1.2.3", 5000), metrics="open") as far:
        assert far.get("/metrics").status_code == 200
    with make_client(chat_model_dir, tmp_path, metrics="off") as near:
        assert near.get("/metrics").status_code == 404


def test_the_startup_line_names_every_page_and_route(client) -> None:
    from malmoi.serve._server import offered
    from route_names import named_paths, served_paths

    settings = ServeSettings.model_validate({"model_dir": "m", "review_data": None})
    line = offered(settings)
    assert line.startswith("Pages: / (chat), /docs, /metrics, /analytics. Routes: POST /v1/parse")
    assert served_paths(client.app) - named_paths(line) == set()
    assert named_paths(line) - served_paths(client.app) == set()
