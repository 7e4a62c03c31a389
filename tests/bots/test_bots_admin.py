"""Publishing over HTTP: model uploads behind the admin key, the same checks as `malmoi publish`, live and rollback."""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from model_files import edit_model_json, refer_to_encoder

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'malmoi[serve]'")

from fastapi import testclient

import malmoi
from malmoi.bots import KeyStore, Registry
from malmoi.serve.builder import create_bots_app

TEXT = "부산 국밥 맛집 추천해줘"


def tar_gz(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


def zipped(folder: Path, prefix: str = "model/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + str(path.relative_to(folder)))
    return buffer.getvalue()


@pytest.fixture
def client(registry: Registry, tmp_path: Path) -> Iterator[testclient.TestClient]:
    app = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}")
    with testclient.TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(registry: Registry) -> dict[str, str]:
    return {"Authorization": f"Bearer {KeyStore(registry).create(admin=True)[0]}"}


def parse(client: testclient.TestClient, headers: dict[str, str]) -> tuple[str, dict]:
    answer = client.post("/v1/bots/alpha/parse", json={"text": TEXT}, headers=headers)
    assert answer.status_code == 200
    return answer.headers["X-Malmoi-Version"], answer.json()


def test_upload_publishes_a_version_that_answers_as_its_folder(client: testclient.TestClient, registry: Registry,
                                                               admin: dict[str, str], variant_dirs: list[Path]) -> None:
    before = parse(client, admin)
    body = tar_gz(variant_dirs[2])
    assert len(body) > 64 * 1024  # over the limit of every other request: uploads have their own
    answer = client.post("/v1/bots/alpha/versions", content=body, headers={**admin, "content-type": "application/gzip"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == "v000002" and answer.json()["live"] is True
    assert "intent_accuracy" in answer.json()["metrics"]
    version, parsed = parse(client, admin)
    assert version == "v000002" and parsed == malmoi.load(variant_dirs[2]).parse(TEXT).model_dump(mode="json")

    rolled = client.post("/v1/bots/alpha/rollback", headers=admin).json()
    assert rolled == {"bot": "alpha", "live": "v000001", "was": "v000002"}
    assert parse(client, admin) == before
    switched = client.put("/v1/bots/alpha/live", json={"version": "v000002"}, headers=admin)
    assert switched.status_code == 200 and parse(client, admin)[0] == "v000002"

    # A zip whose files sit in one folder, stored without going live.
    answer = client.post("/v1/bots/alpha/versions?activate=false", content=zipped(variant_dirs[0]), headers=admin)
    assert answer.status_code == 201 and answer.json()["live"] is False
    listed = client.get("/v1/bots/alpha/versions", headers=admin).json()
    assert [(v["version"], v["live"]) for v in listed] == [("v000001", False), ("v000002", True), ("v000003", False)]
    assert [v.version for v in registry.versions("alpha")] == ["v000001", "v000002", "v000003"]


def test_only_an_admin_key_publishes(client: testclient.TestClient, registry: Registry, tmp_path: Path,
                                     variant_dirs: list[Path]) -> None:
    alpha = {"Authorization": f"Bearer {KeyStore(registry).create(bot='alpha')[0]}"}
    body = tar_gz(variant_dirs[2])
    for method, path, kwargs in [("post", "/v1/bots/alpha/versions", {"content": body}),
                                 ("put", "/v1/bots/alpha/live", {"json": {"version": "v000001"}}),
                                 ("post", "/v1/bots/alpha/rollback", {})]:
        answer = client.request(method.upper(), path, headers=alpha, **kwargs)
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden"), path
        assert "admin key" in answer.json()["error"]["message"]
    assert client.post("/v1/bots/alpha/versions", content=body).status_code == 401
    assert client.get("/v1/bots/alpha/versions", headers=alpha).status_code == 200  # its own bot's list
    assert client.get("/v1/bots/beta/versions", headers=alpha).status_code == 403
    assert [v.version for v in registry.versions("alpha")] == ["v000001"]
    keyless = create_bots_app(registry.root, database_url=f"sqlite:///{tmp_path / 'k.sqlite3'}", require_keys=False)
    with testclient.TestClient(keyless, base_url="http://localhost") as open_client:
        answer = open_client.post("/v1/bots/alpha/versions", content=body)
        assert answer.status_code == 403 and "--no-keys" in answer.json()["error"]["message"]


def damaged_upload(model_dir: Path, tmp_path: Path, damage: str) -> bytes:
    if damage == "not_an_archive":
        return b"this is not a model"
    if damage == "truncated":
        return tar_gz(model_dir)[:2000]
    if damage == "escapes":
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            data = b"x"
            info = tarfile.TarInfo("../../escaped.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    if damage == "no_model_json":
        (broken / "model.json").unlink()
    else:  # one bit of the weights flipped
        weights = bytearray((broken / "intent.safetensors").read_bytes())
        weights[len(weights) // 2] ^= 0x01
        (broken / "intent.safetensors").write_bytes(bytes(weights))
    return tar_gz(broken)


@pytest.mark.parametrize(("damage", "status", "code", "named"), [
    ("not_an_archive", 400, "invalid_upload", "not an archive"),
    ("truncated", 400, "invalid_upload", "truncated or damaged"),
    ("escapes", 400, "invalid_upload", "escaped.txt"),
    ("no_model_json", 400, "invalid_upload", "no model.json"),
    ("flipped_weight_bit", 422, "refused", "the upload/intent.safetensors: its checksum does not match"),
])
def test_corrupt_upload_is_refused_with_what_is_wrong(client: testclient.TestClient, registry: Registry,
                                                      admin: dict[str, str], tmp_path: Path, variant_dirs: list[Path],
                                                      damage: str, status: int, code: str, named: str) -> None:
    answer = client.post("/v1/bots/alpha/versions", content=damaged_upload(variant_dirs[2], tmp_path, damage),
                         headers=admin)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert named in answer.json()["error"]["message"]
    assert [v.version for v in registry.versions("alpha")] == ["v000001"]
    assert not any(p.name.startswith(".upload-") for p in registry.root.iterdir())  # nothing left behind
    assert not (registry.root.parent / "escaped.txt").exists()


def test_live_and_rollback_errors_are_json(client: testclient.TestClient, admin: dict[str, str]) -> None:
    answer = client.put("/v1/bots/alpha/live", json={"version": "v000009"}, headers=admin)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "unknown_version")
    assert client.put("/v1/bots/alpha/live", json={"version": "latest"}, headers=admin).status_code == 422
    answer = client.post("/v1/bots/alpha/rollback", headers=admin)
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "registry_conflict")
    assert "no earlier live version" in answer.json()["error"]["message"]
    assert client.post("/v1/bots/nobody/rollback", headers=admin).status_code == 404
    answer = client.post("/v1/bots/Bad..Name/versions", content=b"x", headers=admin)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_bot_name")
    assert client.post("/v1/bots/alpha/parse", content=b"x" * (65 * 1024), headers=admin).status_code == 413


def test_upload_of_a_shared_encoder_bot_uses_the_registrys_encoder(client: testclient.TestClient, tmp_path: Path,
                                                                   registry: Registry, admin: dict[str, str],
                                                                   variant_dirs: list[Path]) -> None:
    encoder = tmp_path / "shared-encoder"
    shutil.copytree(variant_dirs[0] / "encoder", encoder)

    def on_shared_encoder(source: Path, name: str) -> Path:
        model_dir = tmp_path / name
        shutil.copytree(source, model_dir, ignore=shutil.ignore_patterns("encoder"))
        return edit_model_json(model_dir, refer_to_encoder(encoder))

    first, second = on_shared_encoder(variant_dirs[1], "first"), on_shared_encoder(variant_dirs[2], "second")
    expected = malmoi.load(second).parse(TEXT).model_dump(mode="json")
    uploaded = client.post("/v1/bots/beta/versions", content=tar_gz(second), headers=admin)
    assert uploaded.status_code == 400 and "does not hold" in uploaded.json()["error"]["message"]
    registry.publish(first, bot="gamma")  # the registry now holds the shared encoder
    shutil.rmtree(encoder)  # the path in model.json is the trainer's, not the server's
    uploaded = client.post("/v1/bots/beta/versions", content=tar_gz(second), headers=admin)
    assert uploaded.status_code == 201, uploaded.text
    answer = client.post("/v1/bots/beta/parse", json={"text": TEXT}, headers=admin)
    assert answer.headers["X-Malmoi-Version"] == "v000002" and answer.json() == expected
