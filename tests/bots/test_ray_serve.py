"""The many-bots server on a local Ray Serve: the same conversation and key checks, multiplexing, a dead replica."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the Ray Serve tests need the ray extra: pip install 'malmoi[ray]'")
serve = pytest.importorskip("ray.serve", reason="the Ray Serve tests need the ray extra: pip install 'malmoi[ray]'")
httpx = pytest.importorskip("httpx", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")

import malmoi  # noqa: E402
from malmoi.bots import KeyStore, Registry  # noqa: E402
from malmoi.dialogue.store import StateStore  # noqa: E402
from malmoi.serve.ray_app import MODEL_ID_HEADER, bots_application, start_local_ray  # noqa: E402
from malmoi.serve.settings import ServeSettings  # noqa: E402


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def same_answer(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two parse results alike but for rounding: a replica runs torch on one thread, and the sums
    of its matrix products can differ in the last bits from this process's."""

    def confidences(result: dict[str, Any]) -> list[float]:
        return [result["intent"]["confidence"], *(r["confidence"] for r in result["intent_ranking"])]

    def rest(result: dict[str, Any]) -> Any:
        return (result["text"], result["intent"]["name"], [r["name"] for r in result["intent_ranking"]],
                result["fallback"], result["entities"])

    return rest(a) == rest(b) and confidences(a) == pytest.approx(confidences(b), rel=1e-4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_registry(tmp_path_factory: pytest.TempPathFactory, variant_dirs: list[Path],
                 chat_bots_publisher: Callable[[Path, list[Path]], Registry]) -> Registry:
    return chat_bots_publisher(tmp_path_factory.mktemp("ray"), variant_dirs)


@pytest.fixture(scope="module")
def ray_url(ray_registry: Registry) -> Iterator[str]:
    """Two replicas of the many-bots deployment on a private local Ray (2 CPUs), at http://127.0.0.1:PORT."""
    port = free_port()
    # A Ray that plain ray.init() would join instead of starting its own: the one RAY_ADDRESS names.
    before = os.environ.get("RAY_ADDRESS")
    os.environ["RAY_ADDRESS"] = "127.0.0.1:1"
    try:
        temp_dir = start_local_ray(num_cpus=2)
    finally:
        if before is None:
            del os.environ["RAY_ADDRESS"]
        else:
            os.environ["RAY_ADDRESS"] = before
    assert temp_dir.is_dir() and ray.get_runtime_context().gcs_address != "127.0.0.1:1"
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        settings = ServeSettings(registry=ray_registry.root, ray=True, replicas=2, cpus_per_replica=0.5,
                                 database_url=f"sqlite:///{ray_registry.root.parent / 'state.sqlite3'}")
        serve.run(bots_application(settings), name="malmoi", route_prefix="/")
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def client(ray_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ray_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def admin(ray_registry: Registry) -> dict[str, str]:
    return bearer(KeyStore(ray_registry).create(admin=True)[0])


def test_conversation_through_ray_serve(client: httpx.Client, ray_registry: Registry, admin: dict[str, str],
                                        check_conversations: Callable[..., None]) -> None:
    store = StateStore(f"sqlite:///{ray_registry.root.parent / 'state.sqlite3'}")
    try:
        # Two replicas share the database: each message of the conversation may go to either.
        check_conversations(client, store, admin)
    finally:
        store.close()


def test_keys_isolate_bots_through_ray_serve(client: httpx.Client, ray_registry: Registry,
                                             check_key_isolation: Callable[..., None]) -> None:
    check_key_isolation(client, ray_registry)


def test_multiplexed_model_id_picks_the_version(client: httpx.Client, ray_registry: Registry,
                                                admin: dict[str, str], variant_dirs: list[Path]) -> None:
    text = "내일 서울 날씨 알려줘"
    ray_registry.publish(variant_dirs[0], bot="gamma")  # v000002 of gamma is now live, with other weights
    expected = {v: malmoi.load(ray_registry.version_dir("gamma", v)).parse(text).model_dump(mode="json")
                for v in ("v000001", "v000002")}
    assert not same_answer(expected["v000001"], expected["v000002"])

    def parse(model_id: str | None) -> httpx.Response:
        headers = {**admin, **({MODEL_ID_HEADER: model_id} if model_id else {})}
        return client.post("/v1/bots/gamma/parse", json={"text": text}, headers=headers)

    for model_id, version in [("gamma@v000001", "v000001"), ("gamma", "v000002"), (None, "v000002")]:
        answer = parse(model_id)
        assert answer.status_code == 200 and answer.headers["X-Malmoi-Version"] == version, model_id
        assert same_answer(answer.json(), expected[version]), (model_id, answer.json(), expected[version])
    mismatch = parse("alpha@v000001")
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (400, "model_id_mismatch")
    for unknown in ["gamma@v000009", "gamma@latest"]:
        answer = parse(unknown)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "unknown_version"), unknown


def test_a_bots_requests_go_to_the_replica_that_loaded_it(client: httpx.Client, admin: dict[str, str]) -> None:
    headers = {**admin, MODEL_ID_HEADER: "beta"}
    assert client.post("/v1/bots/beta/parse", json={"text": "안녕"}, headers=headers).status_code == 200
    time.sleep(1)  # the replica tells Ray's router which model ids it holds (every 0.1 s)
    # Ray routes by the header alone, whatever the route: /v1/stats says which replica answered.
    pids = [client.get("/v1/stats", headers=headers).json()["pid"] for _ in range(12)]
    others = {client.get("/v1/stats", headers=admin).json()["pid"] for _ in range(40)}
    assert len(set(pids)) == 1 and len(others) == 2, (pids, others)


def test_requests_are_answered_when_a_replica_dies(client: httpx.Client, admin: dict[str, str]) -> None:
    pids: set[int] = set()
    for _ in range(40):  # Ray spreads requests over both replicas; /v1/stats says which one answered
        pids.add(client.get("/v1/stats", headers=admin).json()["pid"])
        if len(pids) == 2:
            break
    assert len(pids) == 2, pids
    os.kill(pids.pop(), signal.SIGKILL)
    started, answered = time.monotonic(), []
    for i in range(30):
        answer = client.post("/v1/bots/alpha/parse", json={"text": f"부산 국밥 맛집 {i}"}, headers=admin)
        answered.append(answer.status_code)
    assert answered == [200] * 30 and time.monotonic() - started < 30


def test_app_builder_reads_a_config_files_args(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from malmoi.serve.ray_app import app_builder

    app = app_builder({"registry": str(tmp_path), "replicas": 2, "cache_mb": 64, "database_url": "sqlite:///s.db"})
    deployment = app._bound_deployment  # what KubeRay's RayService would deploy
    assert deployment.num_replicas == 2
    (settings,) = deployment.init_args
    assert settings.registry == tmp_path.resolve() and settings.ray
    assert settings.cache_bytes == 64 * 2**20 and settings.database_url == "sqlite:///s.db"
    with pytest.raises(ValidationError, match="registyr"):
        app_builder({"registyr": str(tmp_path)})  # a misspelt key is named, not ignored
    with pytest.raises(ValidationError, match="replicas"):
        app_builder({"registry": str(tmp_path), "replicas": 0})
    with pytest.raises(ValidationError, match="port"):  # Ray's proxy decides the port: not a config-file key
        app_builder({"registry": str(tmp_path), "port": 8001})


@pytest.fixture
def ray_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """What run_ray asks of Ray and Ray Serve, recorded instead of done; it stops as soon as it is deployed."""
    from malmoi.serve import ray_app

    calls: list[tuple[str, Any]] = []
    for name in ("PYTHONPATH", "RAY_USAGE_STATS_ENABLED", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # start_local_ray sets them: restored after the test
    monkeypatch.setattr(ray, "init", lambda **kwargs: calls.append(("ray.init", kwargs)))
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append(("ray.shutdown", None)))
    for name in ("start", "run", "delete", "shutdown"):
        monkeypatch.setattr(serve, name, lambda *args, _name=name, **kwargs: calls.append((f"serve.{_name}", args)))
    monkeypatch.setattr(ray_app, "bots_application", lambda *args, **kwargs: "application")
    monkeypatch.setattr(ray_app, "_wait_for_stop", lambda: calls.append(("stopped", None)))
    return calls


def test_without_an_address_malmoi_starts_a_private_ray_and_stops_it(ray_calls: list[tuple[str, Any]],
                                                                     tmp_path: Path) -> None:
    from malmoi.serve.ray_app import run_ray

    run_ray(ServeSettings(registry=tmp_path, ray=True))
    init = dict(ray_calls[0][1])
    assert ray_calls[0][0] == "ray.init" and init["address"] == "local"  # never an instance that runs already
    temp_dir = Path(init["_temp_dir"])
    assert temp_dir.name.startswith("malmoi-ray-") and not temp_dir.exists()  # its own folder, removed after
    assert [name for name, _ in ray_calls[1:]] == ["serve.start", "serve.run", "stopped", "serve.shutdown",
                                                   "ray.shutdown"]


def test_on_a_cluster_malmoi_removes_only_its_own_application(ray_calls: list[tuple[str, Any]],
                                                              tmp_path: Path) -> None:
    from malmoi.serve.ray_app import run_ray

    run_ray(ServeSettings(registry=tmp_path, ray=True, ray_address="ray://head:10001"))
    assert ray_calls[0] == ("ray.init", {"address": "ray://head:10001", "log_to_driver": False})
    assert [name for name, _ in ray_calls[1:]] == ["serve.start", "serve.run", "stopped", "serve.delete",
                                                   "ray.shutdown"]
    assert ("serve.delete", ("malmoi",)) in ray_calls  # never serve.shutdown(): the cluster's Serve is not malmoi's
