"""The commands: publish, versions, rollback, keys, and serve --registry's refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from malmoi.cli import main


def test_publish_versions_rollback_keys(tmp_path: Path, variant_dirs: list[Path], tiny_bot: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    reg = str(tmp_path / "reg")
    assert main(["publish", str(variant_dirs[0]), "--bot", "shop", "--registry", reg, "--data", str(tiny_bot)]) == 0
    assert main(["publish", str(variant_dirs[1]), "--bot", "shop", "--registry", reg, "--env", "production"]) == 0
    out = capsys.readouterr()
    assert "published shop v000002" in out.out and "cannot be rebuilt" in out.err
    assert main(["versions", "--bot", "shop", "--registry", reg, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["live"]) for v in listed] == [("v000001", False), ("v000002", True)]
    assert "intent_accuracy" in listed[0]["metrics"]
    assert main(["rollback", "--bot", "shop", "--registry", reg]) == 0
    assert "v000001 is live (was v000002)" in capsys.readouterr().out
    assert main(["keys", "create", "--bot", "shop", "--registry", reg]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("mlm_")
    assert key not in "".join(p.read_text() for p in (tmp_path / "reg" / "keys").iterdir())  # stored hashed
    assert main(["keys", "list", "--registry", reg]) == 0
    assert "bot shop" in capsys.readouterr().out


def test_corrupt_model_exits_2_with_one_line(tmp_path: Path, tiny_model_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "intent.safetensors").write_bytes(b"\0" * 64)
    assert main(["publish", str(broken), "--bot", "shop", "--registry", str(tmp_path / "reg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: refused:") and "intent.safetensors" in err and "Traceback" not in err
    assert not (tmp_path / "reg" / "bots" / "shop" / "versions").exists() or not any(
        p.name.startswith("v") for p in (tmp_path / "reg" / "bots" / "shop" / "versions").iterdir())


def test_serve_registry_refuses_without_keys_or_bots(tmp_path: Path, tiny_model_dir: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    reg = str(tmp_path / "reg")
    assert main(["serve", "--registry", reg]) == 2
    assert "no published bots" in capsys.readouterr().err
    assert main(["publish", str(tiny_model_dir), "--bot", "tiny", "--registry", reg]) == 0
    assert main(["serve", "--registry", reg]) == 2
    assert "malmoi keys create" in capsys.readouterr().err
    assert main(["serve"]) == 2
    assert "--registry" in capsys.readouterr().err
    assert main(["keys", "create", "--registry", reg]) == 2
    assert "either for one bot" in capsys.readouterr().err


def test_ray_options_need_ray_and_a_registry(tmp_path: Path, tiny_model_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    reg = str(tmp_path / "reg")
    assert main(["serve", str(tiny_model_dir), "--ray"]) == 2
    assert "add --registry DIR" in capsys.readouterr().err
    assert main(["publish", str(tiny_model_dir), "--bot", "tiny", "--registry", reg]) == 0
    assert main(["serve", "--registry", reg, "--no-keys", "--replicas", "2"]) == 2
    assert "add --ray" in capsys.readouterr().err
    assert main(["serve", "--registry", reg, "--no-keys", "--ray", "--replicas", "0"]) == 2
    assert "--replicas must be at least 1" in capsys.readouterr().err


def test_a_bot_name_with_a_newline_exits_2_and_makes_no_folder(tmp_path: Path, tiny_model_dir: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    reg = tmp_path / "reg"
    assert main(["publish", str(tiny_model_dir), "--bot", "abc\n", "--registry", str(reg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'abc\\n' is not a bot name" in err
    assert not (reg / "bots").exists() or list((reg / "bots").iterdir()) == []


def test_rollback_to_a_bad_version_exits_2_with_one_line(tmp_path: Path, tiny_model_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    reg = str(tmp_path / "reg")
    assert main(["publish", str(tiny_model_dir), "--bot", "shop", "--registry", reg]) == 0
    capsys.readouterr()
    for version in ["v" + "9" * 5000, "v000001\n", "latest"]:
        assert main(["rollback", "--bot", "shop", "--to", version, "--registry", reg]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and len(err) < 300 and "is not a version" in err, err[:100]


def test_rollback_to_repairs_a_damaged_live_file(tmp_path: Path, variant_dirs: list[Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    reg = tmp_path / "reg"
    for model_dir in variant_dirs[:2]:
        assert main(["publish", str(model_dir), "--bot", "shop", "--registry", str(reg)]) == 0
    (reg / "bots" / "shop" / "LIVE").write_text("garbage", "utf-8")
    capsys.readouterr()
    assert main(["rollback", "--bot", "shop", "--registry", str(reg)]) == 2  # the previous one is in the damaged file
    assert "LIVE is damaged" in capsys.readouterr().err
    assert main(["publish", str(variant_dirs[2]), "--bot", "shop", "--registry", str(reg)]) == 2
    assert "rollback --bot shop --to VERSION" in capsys.readouterr().err
    assert sorted(p.name for p in (reg / "bots" / "shop" / "versions").iterdir()) == ["v000001", "v000002"]
    assert main(["versions", "--bot", "shop", "--registry", str(reg)]) == 0  # lists what to repair it with
    capsys.readouterr()
    assert main(["rollback", "--bot", "shop", "--to", "v000002", "--registry", str(reg)]) == 0
    out = capsys.readouterr()
    assert "v000002 is live (was None)" in out.out and "rollback history is lost" in out.err
    assert json.loads((reg / "bots" / "shop" / "LIVE").read_text("utf-8"))["version"] == "v000002"


def test_publishing_the_same_model_again_needs_force(tmp_path: Path, variant_dirs: list[Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    reg = str(tmp_path / "reg")
    assert main(["publish", str(variant_dirs[0]), "--bot", "shop", "--registry", reg]) == 0
    assert main(["publish", str(variant_dirs[1]), "--bot", "shop", "--registry", reg]) == 0
    capsys.readouterr()
    assert main(["publish", str(variant_dirs[0]), "--bot", "shop", "--registry", reg]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the model of shop v000001 already" in err and "--force" in err
    assert main(["publish", str(variant_dirs[0]), "--bot", "shop", "--registry", reg, "--force"]) == 0
    out = capsys.readouterr()
    assert "published shop v000003" in out.out and "same model as v000001" in out.err
