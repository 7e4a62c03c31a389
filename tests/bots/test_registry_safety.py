"""What the registry refuses or repairs: linked data in snapshots, names, a damaged LIVE, a model published twice."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from malmoi.bots import IdenticalModelError, LiveFileError, PublishError, Registry, RegistryError
from malmoi.bots.registry import check_bot_name, check_version_name
from malmoi.data import validate_bot


def restore_and_validate_every_snapshot(registry: Registry, bot: str, out: Path) -> list[Path]:
    """Restore the snapshot of each version of ``bot``; each must validate without errors and hold its intents."""
    restored = []
    for info in registry.versions(bot):
        folder = registry.restore_snapshot(bot, info.version, out / info.version)
        errors = [p for p in validate_bot(folder) if p.severity == "error"]
        assert errors == [], [str(p) for p in errors]
        assert sorted(p.name for p in (folder / "data" / "intents").iterdir()) == [
            "greeting.csv", "restaurant.csv", "weather.csv"]
        restored.append(folder)
    return restored


def test_linked_data_is_snapshotted_through_its_links(tmp_path: Path, tiny_bot: Path, tiny_model_dir: Path) -> None:
    linked = tmp_path / "linked"
    (linked / "data").mkdir(parents=True)
    os.symlink(tiny_bot / "bot.yaml", linked / "bot.yaml")  # a linked file
    os.symlink(tiny_bot / "data" / "intents", linked / "data" / "intents")  # a linked folder, outside the bot
    os.symlink(tiny_bot / "data" / "ood", linked / "data" / "ood")
    os.symlink(linked / "data", tiny_bot / "data" / "intents" / ".up")  # a cycle: back to data/, through the link
    os.symlink(linked, linked / "data" / "loop")  # a cycle: the bot directory itself
    registry = Registry(tmp_path / "reg")
    info = registry.publish(tiny_model_dir, bot="linked", data=linked)
    with tarfile.open(registry.snapshot_path(info.snapshot or "")) as tar:
        names = tar.getnames()
    assert "data/intents/weather.csv" in names and "bot.yaml" in names
    assert not any("loop" in n or ".up" in n for n in names)  # each folder once, whatever links reach it
    (restored,) = restore_and_validate_every_snapshot(registry, "linked", tmp_path / "restored")
    assert (restored / "data" / "intents" / "weather.csv").read_bytes() == (
        tiny_bot / "data" / "intents" / "weather.csv").read_bytes()


def test_a_link_to_nothing_in_the_data_is_refused_and_nothing_is_stored(tmp_path: Path, tiny_bot: Path,
                                                                        tiny_model_dir: Path) -> None:
    os.symlink(tmp_path / "moved-away.csv", tiny_bot / "data" / "intents" / "faq.csv")
    registry = Registry(tmp_path / "reg")
    with pytest.raises(PublishError, match=r"faq\.csv is a link to .*moved-away\.csv, which does not exist"):
        registry.publish(tiny_model_dir, bot="tiny", data=tiny_bot)
    assert registry.versions("tiny") == [] and not (registry.root / "snapshots").exists()


@pytest.mark.parametrize("name", ["abc\n", "abc\r\n", "\nabc", "ab/c", "A", "x" * 65, ""])
def test_bot_names_are_matched_whole(tmp_path: Path, tiny_model_dir: Path, name: str) -> None:
    with pytest.raises(RegistryError, match="is not a bot name"):
        check_bot_name(name)
    registry = Registry(tmp_path / "reg")
    with pytest.raises(RegistryError, match="is not a bot name"):
        registry.publish(tiny_model_dir, bot=name)
    assert not (registry.root / "bots").exists() or list((registry.root / "bots").iterdir()) == []


@pytest.mark.parametrize("version", ["v000001\n", "v00001", "v" + "9" * 13, "v" + "9" * 5000, "V000001", "v00000a"])
def test_version_names_are_bounded_and_matched_whole(version: str) -> None:
    with pytest.raises(RegistryError, match="is not a version") as caught:
        check_version_name(version)
    assert len(str(caught.value)) < 300 and "\n" not in str(caught.value)  # one line, whatever it was given


def test_folders_with_a_newline_are_no_bots_or_versions(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(tiny_model_dir, bot="shop")
    shutil.copytree(registry.bot_dir("shop"), registry.root / "bots" / "shop\n")
    shutil.copytree(registry.version_dir("shop", "v000001"), registry.bot_dir("shop") / "versions" / "v000002\n")
    assert registry.bots() == ["shop"]
    assert [v.version for v in registry.versions("shop")] == ["v000001"]


@pytest.fixture
def damaged(tmp_path: Path, variant_dirs: list[Path]) -> Registry:
    """Bot "shop" with v000001 and v000002 (live, after v000001), and then a LIVE file of garbage."""
    registry = Registry(tmp_path / "reg")
    registry.publish(variant_dirs[0], bot="shop")
    registry.publish(variant_dirs[1], bot="shop")
    (registry.bot_dir("shop") / "LIVE").write_text("garbage", "utf-8")
    return registry


def test_a_damaged_live_file_is_named_with_its_repair(damaged: Registry) -> None:
    with pytest.raises(LiveFileError, match=r"LIVE is damaged \(it is not JSON\).*rollback --bot shop --to VERSION"):
        damaged.live_version("shop")
    for garbage in ['{"version": 3}', '{"version": "v000001", "history": "v000002"}', '{"version": "v1\\n"}', "[]"]:
        (damaged.bot_dir("shop") / "LIVE").write_text(garbage, "utf-8")
        with pytest.raises(LiveFileError, match="not a live-version pointer"):
            damaged.live_version("shop")
    assert [v.version for v in damaged.versions("shop")] == ["v000001", "v000002"]  # listed, to pick the repair
    assert not any(v.live for v in damaged.versions("shop"))


def test_activate_repairs_a_damaged_live_file_and_says_the_history_is_lost(damaged: Registry) -> None:
    switch = damaged.activate("shop", "v000001")
    assert (switch.live, switch.was, switch.repaired) == ("v000001", None, True)
    live = json.loads((damaged.bot_dir("shop") / "LIVE").read_bytes())
    assert live["version"] == "v000001" and live["history"] == [] and "history" in live["repaired"]
    assert damaged.live_version("shop") == "v000001"
    assert damaged.rollback("shop", to="v000002") == "v000002" and damaged.rollback("shop") == "v000001"


def test_publish_to_a_bot_with_a_damaged_live_file_stores_nothing(damaged: Registry, variant_dirs: list[Path],
                                                                   tiny_bot: Path) -> None:
    before = sorted(p.name for p in damaged.bot_dir("shop").rglob("*"))
    with pytest.raises(LiveFileError, match="is damaged"):
        damaged.publish(variant_dirs[2], bot="shop", data=tiny_bot)
    assert sorted(p.name for p in damaged.bot_dir("shop").rglob("*")) == before
    assert not (damaged.root / "snapshots").exists()
    with pytest.raises(LiveFileError):
        damaged.rollback("shop")  # which version was before is in the damaged file: --to names one


def test_an_identical_model_is_refused_unless_allowed(tmp_path: Path, variant_dirs: list[Path],
                                                      tiny_bot: Path) -> None:
    registry = Registry(tmp_path / "reg")
    registry.publish(variant_dirs[0], bot="shop")
    registry.publish(variant_dirs[1], bot="shop")
    copy = tmp_path / "copy"
    shutil.copytree(variant_dirs[0], copy)  # the same files, elsewhere
    with pytest.raises(IdenticalModelError, match=r"is the model of shop v000001 already.*--force") as caught:
        registry.publish(copy, bot="shop", data=tiny_bot)
    assert caught.value.version == "v000001"
    assert [v.version for v in registry.versions("shop")] == ["v000001", "v000002"]
    assert registry.live_version("shop") == "v000002" and not (registry.root / "snapshots").exists()
    forced = registry.publish(copy, bot="shop", allow_identical=True)
    assert (forced.version, forced.identical_to, forced.live) == ("v000003", "v000001", True)
    assert registry.publish(variant_dirs[0], bot="other").identical_to is None  # another bot's versions don't count


def test_a_published_version_carries_checksums_of_every_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Item 7: the stored copy has a manifest of its own; an edit to its model.json is refused when it loads."""
    from malmoi.errors import ModelLoadError
    from malmoi.model import Model
    from malmoi.outputs import MANIFEST_FILE, verify_manifest

    registry = Registry(tmp_path / "reg")
    info = registry.publish(tiny_model_dir, bot="sealed")
    stored = info.path
    manifest = json.loads((stored / MANIFEST_FILE).read_text("utf-8"))
    files = sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*") if p.is_file())
    assert set(manifest["files"]) == set(files) - {MANIFEST_FILE, "PUBLISHED.json"}
    assert verify_manifest(stored, ["model.json"]) is None
    meta = json.loads((stored / "model.json").read_text("utf-8"))
    meta["intents"] = meta["intents"][::-1]
    (stored / "model.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    with pytest.raises(ModelLoadError, match="changed since malmoi wrote it"):
        Model.load(stored)


def test_a_model_without_checksums_is_refused_with_the_fix(tmp_path: Path, tiny_model_dir: Path) -> None:
    from malmoi.outputs import MANIFEST_FILE

    bare = tmp_path / "bare"
    shutil.copytree(tiny_model_dir, bare)
    (bare / MANIFEST_FILE).unlink()
    registry = Registry(tmp_path / "reg")
    with pytest.raises(PublishError, match=r"no manifest\.json.*save it again with this one"):
        registry.publish(bare, bot="bare")
    assert not (tmp_path / "reg" / "bots" / "bare" / "versions").exists() or not any(
        (tmp_path / "reg" / "bots" / "bare" / "versions").iterdir())
