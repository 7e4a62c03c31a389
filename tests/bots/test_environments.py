"""Environments: publish goes to beta, promote moves it to production, rollback moves one environment,
keys scoped to an environment, ?env= and X-Malmoi-Env, traffic split, and the gate before promote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi import testclient

from malmoi.bots import Registry, RegistryError
from malmoi.bots.errors import PromotionRefused
from malmoi.cli import main
from malmoi.dialogue.store import StateStore
from malmoi.serve.builder import create_bots_app


def test_beta_promote_rollback_production_only_and_keys_scoped_to_beta(
        tmp_path: Path, variant_dirs: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    reg = tmp_path / "reg"
    common = ["--bot", "shop", "--registry", str(reg)]
    assert main(["publish", str(variant_dirs[0]), *common]) == 0  # a new bot: beta and production
    assert main(["publish", str(variant_dirs[1]), *common]) == 0  # beta only
    out = capsys.readouterr()
    assert "published shop v000002" in out.out and "(in beta)" in out.out and "malmoi promote" in out.err
    registry = Registry(reg)
    assert registry.environments("shop") == {"production": "v000001", "beta": "v000002"}

    assert main(["promote", *common]) == 0
    assert "v000002 is live in production (was v000001)" in capsys.readouterr().out
    assert main(["publish", str(variant_dirs[2]), *common]) == 0
    assert registry.environments("shop") == {"production": "v000002", "beta": "v000003"}

    assert main(["rollback", *common]) == 0  # production only
    assert "v000001 is live (was v000002)" in capsys.readouterr().out
    assert registry.environments("shop") == {"production": "v000001", "beta": "v000003"}
    assert main(["rollback", "--env", "beta", *common]) == 0
    assert "v000002 is live in beta (was v000003)" in capsys.readouterr().out
    assert registry.environments("shop") == {"production": "v000001", "beta": "v000002"}
    listed = {v.version: v.environments for v in registry.versions("shop")}
    assert listed == {"v000001": ("production",), "v000002": ("beta",), "v000003": ()}

    assert main(["keys", "create", "--env", "beta", *common]) == 0
    beta_key = capsys.readouterr().out.strip()
    app = create_bots_app(reg, database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}")
    with testclient.TestClient(app, base_url="http://localhost") as client:
        auth = {"Authorization": f"Bearer {beta_key}"}
        body = {"text": "안녕하세요"}
        assert client.post("/v1/bots/shop/parse", json=body, headers=auth).status_code == 403
        answer = client.post("/v1/bots/shop/parse?env=production", json=body, headers=auth)
        assert answer.status_code == 403 and "in beta only" in answer.json()["error"]["message"]
        answer = client.post("/v1/bots/shop/parse?env=beta", json=body, headers=auth)
        assert answer.status_code == 200
        assert (answer.headers["X-Malmoi-Version"], answer.headers["X-Malmoi-Env"]) == ("v000002", "beta")
        answer = client.post("/v1/bots/shop/chat", json={"user_id": "u1", **body},
                             headers={**auth, "X-Malmoi-Env": "beta"})
        assert answer.status_code == 200 and answer.headers["X-Malmoi-Version"] == "v000002"
        assert client.post("/v1/bots/shop/parse?env=BETA!", json=body, headers=auth).status_code == 400
        assert client.post("/v1/bots/shop/parse?env=staging", json=body, headers=auth).status_code == 403
        assert client.get("/v1/bots/shop?env=staging", headers=auth).status_code == 403
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    logged = [(m["source"], m["bot_version"], m["environment"]) for m in store.messages("shop")]
    store.close()
    assert sorted(logged) == [("chat", "v000002", "beta"), ("parse", "v000002", "beta")]


def test_traffic_split_sends_its_share_to_beta_and_logs_which_answered(
        tmp_path: Path, variant_dirs: list[Path]) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(variant_dirs[0], bot="shop")
    registry.publish(variant_dirs[1], bot="shop", environment="beta")
    with pytest.raises(RegistryError, match="no version in staging"):
        registry.split_traffic("shop", {"staging": 10})
    with pytest.raises(RegistryError, match="more than every request"):
        registry.split_traffic("shop", {"beta": 60, "gamma": 50})
    with pytest.raises(RegistryError, match="production answers what the split leaves"):
        registry.split_traffic("shop", {"production": 10})
    registry.split_traffic("shop", {"beta": 30})
    assert registry.traffic_split("shop") == {"beta": 30}

    database = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    app = create_bots_app(registry.root, database_url=database, require_keys=False)
    with testclient.TestClient(app, base_url="http://localhost") as client:
        answered = [client.post("/v1/bots/shop/parse", json={"text": "안녕"}).headers["X-Malmoi-Env"]
                    for _ in range(200)]
        # An environment named in the request is not split.
        assert {client.post("/v1/bots/shop/parse?env=production", json={"text": "안녕"}).headers["X-Malmoi-Env"]
                for _ in range(20)} == {"production"}
    share = answered.count("beta") / len(answered)
    assert 0.15 < share < 0.45, share  # 30 %: 200 draws are within ±15 points but once in ~10^5
    store = StateStore(database)
    rows = store.messages("shop", limit=500)
    store.close()
    assert {(m["environment"], m["bot_version"]) for m in rows} == {("beta", "v000002"), ("production", "v000001")}

    assert main(["split-traffic", "--bot", "shop", "--off", "--registry", str(registry.root)]) == 0
    assert registry.traffic_split("shop") == {}
    assert main(["split-traffic", "--bot", "shop", "beta=ten", "--registry", str(registry.root)]) == 2


def test_promote_runs_the_gate_and_a_failure_moves_nothing(tmp_path: Path, variant_dirs: list[Path],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import malmoi.bots.gate
    from malmoi.bots.gate import gate

    registry = Registry(tmp_path / "reg")
    registry.publish(variant_dirs[0], bot="shop")
    registry.publish(variant_dirs[1], bot="shop", environment="beta")
    assert gate(registry, "shop", "v000002") == []  # published without its data: no conversation tests to run

    seen: list[str] = []

    def failing_gate(registry: Registry, bot: str, version: str) -> list[str]:
        seen.append(version)
        return ["1 conversation test(s) fail: weather asks for the city"]

    monkeypatch.setattr(malmoi.bots.gate, "gate", failing_gate)
    with pytest.raises(PromotionRefused, match="weather asks for the city"):
        registry.promote("shop", check=lambda version: failing_gate(registry, "shop", version))
    assert main(["promote", "--bot", "shop", "--registry", str(registry.root)]) == 3
    assert seen == ["v000002", "v000002"]  # the command asks the one gate too
    err = capsys.readouterr().err
    assert "failed: 1 conversation test(s) fail: weather asks for the city" in err
    assert "production stays on v000001" in err
    assert registry.environments("shop") == {"production": "v000001", "beta": "v000002"}


def test_a_registry_written_before_environments_reads_its_live_as_production(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(tiny_model_dir, bot="old")
    folder = registry.bot_dir("old")
    (folder / "LIVE").write_text(json.dumps({"version": "v000001", "history": []}), "utf-8")  # the old format
    assert not (folder / "envs").exists()
    assert registry.environments("old") == {"production": "v000001"}
    assert registry.live_version("old") == "v000001" and registry.bots() == ["old"]
    with pytest.raises(RegistryError, match="no version in beta to promote"):
        registry.promote("old")
    with pytest.raises(RegistryError, match="not an environment name"):
        registry.live_version("old", "../LIVE")
