"""The registry server under hostile or broken input: a damaged LIVE, names, bombs, keys before bodies, twins."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")

from fastapi import testclient

from malmoi.bots import KeyStore, Registry
from malmoi.bots.upload import UploadError, unpack_model
from malmoi.serve.builder import create_bots_app

TEXT = {"text": "내일 서울 날씨 알려줘", "user_id": "u1"}


def tar_gz(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


@pytest.fixture
def client(registry: Registry, tmp_path: Path) -> Iterator[testclient.TestClient]:
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}")
    with testclient.TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(registry: Registry) -> dict[str, str]:
    return {"Authorization": f"Bearer {KeyStore(registry).create(admin=True)[0]}"}


def error(answer: object) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]  # type: ignore[attr-defined]


def test_a_damaged_live_file_is_503_for_that_bot_and_put_live_repairs_it(client: testclient.TestClient,
                                                                         registry: Registry,
                                                                         admin: dict[str, str]) -> None:
    (registry.bot_dir("alpha") / "LIVE").write_text("garbage", "utf-8")
    for method, path, body in [("POST", "/v1/bots/alpha/parse", TEXT), ("POST", "/v1/bots/alpha/chat", TEXT),
                               ("GET", "/v1/bots/alpha", None), ("GET", "/v1/bots/alpha/get_intent/안녕", None)]:
        answer = client.request(method, path, json=body, headers=admin)
        assert error(answer) == (503, "bot_unavailable"), (path, answer.text)
        assert "rollback --bot alpha --to VERSION" in answer.json()["error"]["message"]
        assert str(registry.root) not in answer.text  # the server's folders are not the client's business
    assert client.post("/v1/bots/beta/parse", json=TEXT, headers=admin).status_code == 200  # the others answer
    assert error(client.post("/v1/bots/alpha/rollback", headers=admin)) == (409, "live_damaged")
    answer = client.put("/v1/bots/alpha/live", json={"version": "v000001"}, headers=admin)
    assert answer.status_code == 200 and answer.json() == {"bot": "alpha", "live": "v000001", "was": None,
                                                           "repaired": True}
    assert client.post("/v1/bots/alpha/parse", json=TEXT, headers=admin).status_code == 200


def test_a_server_starts_on_a_registry_with_a_damaged_live_file(registry: Registry, tmp_path: Path,
                                                                admin: dict[str, str]) -> None:
    (registry.bot_dir("alpha") / "LIVE").write_text("{", "utf-8")  # alpha is the bot it warms up with
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with testclient.TestClient(app, base_url="http://localhost") as client:
        assert client.post("/v1/bots/alpha/parse", json=TEXT, headers=admin).status_code == 503
        assert client.post("/v1/bots/beta/parse", json=TEXT, headers=admin).status_code == 200


def test_an_upload_to_a_bot_with_a_damaged_live_file_is_409_and_stores_nothing(
        client: testclient.TestClient, registry: Registry, admin: dict[str, str], variant_dirs: list[Path]) -> None:
    (registry.bot_dir("alpha") / "LIVE").write_text("garbage", "utf-8")
    answer = client.post("/v1/bots/alpha/versions", content=tar_gz(variant_dirs[2]), headers=admin)
    assert error(answer) == (409, "live_damaged"), answer.text
    assert sorted(p.name for p in (registry.bot_dir("alpha") / "versions").iterdir()) == ["v000001"]
    assert not any(p.name.startswith(".") for p in registry.bot_dir("alpha").iterdir())
    assert not any(p.name.startswith(".upload-") for p in registry.root.iterdir())


def test_names_with_a_newline_and_overlong_versions_are_4xx(client: testclient.TestClient, registry: Registry,
                                                             admin: dict[str, str], variant_dirs: list[Path]) -> None:
    assert error(client.post("/v1/bots/alpha%0A/parse", json=TEXT, headers=admin)) == (404, "unknown_bot")
    answer = client.post("/v1/bots/evil%0A/versions", content=tar_gz(variant_dirs[2]), headers=admin)
    assert error(answer) == (400, "invalid_bot_name")
    assert sorted(p.name for p in (registry.root / "bots").iterdir()) == ["alpha", "beta", "gamma"]
    for version in ["v" + "9" * 5000, "v000001\n", "v" + "9" * 13]:
        answer = client.put("/v1/bots/alpha/live", json={"version": version}, headers=admin)
        assert answer.status_code == 422 and answer.json()["error"]["field"] == "version", version[:20]
    assert registry.live_version("alpha") == "v000001"


def member_bomb(members: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for i in range(members):
            info = tarfile.TarInfo(f"f{i}")
            info.size = 0
            tar.addfile(info)
    return buffer.getvalue()


def test_a_member_bomb_is_refused_after_reading_no_more_than_the_cap(client: testclient.TestClient,
                                                                     admin: dict[str, str], tmp_path: Path) -> None:
    body = member_bomb(150_000)
    started = time.process_time()
    answer = client.post("/v1/bots/bomb/versions", content=body, headers={**admin, "content-type": "application/gzip"})
    spent = time.process_time() - started
    assert error(answer) == (400, "invalid_upload") and "more than 1000 members" in answer.json()["error"]["message"]
    assert spent < 1.0, f"{spent:.2f} s of CPU"  # the members are counted while read, not listed first

    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        for i in range(20_000):
            archive.writestr(f"f{i}", b"")
    started = time.process_time()
    with pytest.raises(UploadError, match="more than 1000 members"):
        unpack_model(zipped.getvalue(), tmp_path / "zip")
    assert time.process_time() - started < 0.1  # refused from the end record, before zipfile reads the index
    assert not any((tmp_path / "zip").iterdir()) if (tmp_path / "zip").exists() else True


def test_the_key_is_checked_before_the_body(client: testclient.TestClient, registry: Registry) -> None:
    alpha = {"Authorization": f"Bearer {KeyStore(registry).create(bot='alpha')[0]}"}
    for path, body in [("/v1/bots/beta/parse", {"text": ""}), ("/v1/bots/beta/parse", {}),
                       ("/v1/bots/beta/chat", {"text": "x"}), ("/v1/bots/nobody/parse", {"text": "x" * 5000})]:
        answer = client.post(path, json=body, headers=alpha)
        assert error(answer) == (403, "forbidden"), (path, body, answer.text)
    assert client.post("/v1/bots/alpha/parse", json={"text": ""}, headers=alpha).status_code == 422  # its own bot


def test_an_identical_upload_says_so_and_can_be_refused(client: testclient.TestClient, registry: Registry,
                                                       admin: dict[str, str], variant_dirs: list[Path]) -> None:
    body = tar_gz(variant_dirs[0])  # alpha's v000001, byte for byte (but for the scenario) is variant 0
    answer = client.post("/v1/bots/beta/versions?if_identical=refuse", content=tar_gz(variant_dirs[2]), headers=admin)
    assert answer.status_code == 201 and answer.json()["identical_to"] is None
    answer = client.post("/v1/bots/beta/versions?if_identical=refuse", content=tar_gz(variant_dirs[2]), headers=admin)
    assert error(answer) == (409, "identical_model") and "beta v000002" in answer.json()["error"]["message"]
    assert "?if_identical=publish" in answer.json()["error"]["message"]
    assert [v.version for v in registry.versions("beta")] == ["v000001", "v000002"]
    answer = client.post("/v1/bots/beta/versions", content=tar_gz(variant_dirs[2]), headers=admin)
    assert answer.status_code == 201 and answer.json()["identical_to"] == "v000002"
    assert answer.json()["version"] == "v000003"
    assert client.post("/v1/bots/alpha/versions", content=body, headers=admin).json()["identical_to"] is None
