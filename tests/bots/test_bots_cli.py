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
    assert main(["publish", str(variant_dirs[1]), "--bot", "shop", "--registry", reg]) == 0
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
    (broken / "weights.safetensors").write_bytes(b"\0" * 64)
    assert main(["publish", str(broken), "--bot", "shop", "--registry", str(tmp_path / "reg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: refused:") and "weights.safetensors" in err and "Traceback" not in err
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
