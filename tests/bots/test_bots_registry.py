"""Publishing: full checks, immutable versions, the live pointer, rollback, snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import malmoi
from malmoi.bots import PublishError, Registry, RegistryError
from malmoi.bots.registry import PROBE_TEXTS
from model_files import edit_model_json, refer_to_encoder

TEXTS = ["내일 서울 날씨 알려줘", "부산 국밥 맛집 추천해줘", "안녕하세요", "환율 알려줘"]


def answers(model_dir: Path) -> list[dict]:
    return [r.model_dump(mode="json") for r in malmoi.load(model_dir).parse_batch(TEXTS)]


def test_published_bot_answers_exactly_as_its_model_directory(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    info = registry.publish(tiny_model_dir, bot="weather")
    assert (info.version, info.live) == ("v000001", True)
    version, folder = registry.live_path("weather") or ("", Path())
    assert version == "v000001"
    assert answers(folder) == answers(tiny_model_dir)
    assert info.metrics["intent_accuracy"] == malmoi.load(tiny_model_dir).report["validation"]["intent_accuracy"]


@pytest.mark.parametrize("damage", ["flip_weight_byte", "truncate_weights", "edit_json", "missing_weights"])
def test_corrupt_artifact_is_refused_at_publish(tmp_path: Path, tiny_model_dir: Path, damage: str) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    weights = broken / "intent.safetensors"
    if damage == "flip_weight_byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0x01
        weights.write_bytes(bytes(data))
    elif damage == "truncate_weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "edit_json":
        meta = json.loads((broken / "model.json").read_text("utf-8"))
        meta["parts"]["fallback"]["state"]["threshold"] = "0.5"
        (broken / "model.json").write_text(json.dumps(meta), "utf-8")
    else:
        weights.unlink()
    registry = Registry(tmp_path / "reg")
    with pytest.raises(PublishError, match=r"refused|not a malmoi model") as caught:
        registry.publish(broken, bot="weather")
    assert "broken" in str(caught.value)  # names the file or folder
    assert registry.versions("weather") == [] and registry.live_version("weather") is None


def test_rollback_restores_the_previous_answers(tmp_path: Path, variant_dirs: list[Path]) -> None:
    registry = Registry(tmp_path / "reg")
    first, second = variant_dirs[0], variant_dirs[1]
    registry.publish(first, bot="weather")
    registry.publish(second, bot="weather")
    live = registry.live_path("weather")
    assert live is not None and live[0] == "v000002"
    assert answers(live[1]) == answers(second) != answers(first)
    assert registry.rollback("weather") == "v000001"
    live = registry.live_path("weather")
    assert live is not None and answers(live[1]) == answers(first)
    with pytest.raises(RegistryError, match="no earlier live version"):
        registry.rollback("weather")
    assert registry.rollback("weather", to="v000002") == "v000002"
    assert [v.live for v in registry.versions("weather")] == [False, True]


def test_versions_are_immutable_and_numbered_in_order(tmp_path: Path, variant_dirs: list[Path]) -> None:
    registry = Registry(tmp_path / "reg")
    for model_dir in variant_dirs:
        registry.publish(model_dir, bot="b", activate=False)
    versions = registry.versions("b")
    assert [v.version for v in versions] == ["v000001", "v000002", "v000003"]
    assert registry.live_version("b") is None  # nothing activated
    assert len({v.model_sha256 for v in versions}) == 3  # model.json records each weights checksum
    registry.activate("b", "v000003")
    assert registry.bots() == ["b"]
    with pytest.raises(RegistryError, match="no version v000009"):
        registry.activate("b", "v000009")


def test_data_snapshot_rebuilds_the_bot_directory(tmp_path: Path, tiny_bot: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    info = registry.publish(tiny_model_dir, bot="tiny", data=tiny_bot)
    assert info.snapshot is not None
    again = registry.publish(tiny_model_dir, bot="tiny", data=tiny_bot, allow_identical=True)
    assert again.snapshot == info.snapshot and len(list((registry.root / "snapshots").iterdir())) == 1
    out = registry.restore_snapshot("tiny", info.version, tmp_path / "restored")
    for path in tiny_bot.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(tiny_bot)).read_bytes() == path.read_bytes()


def test_bad_names_and_folders_are_refused_with_the_fix(tmp_path: Path, tiny_model_dir: Path) -> None:
    registry = Registry(tmp_path / "reg")
    with pytest.raises(RegistryError, match="not a bot name"):
        registry.publish(tiny_model_dir, bot="../etc")
    with pytest.raises(PublishError, match="malmoi train"):
        registry.publish(tmp_path, bot="x")
    with pytest.raises(PublishError, match="not a bot directory"):
        registry.publish(tiny_model_dir, bot="x", data=tmp_path / "nowhere")


def test_probe_texts_cover_both_scripts() -> None:
    assert any("가" <= c <= "힣" for t in PROBE_TEXTS for c in t) and any(t.isascii() for t in PROBE_TEXTS)


def test_shared_encoder_is_stored_once_and_the_registry_can_move(tmp_path: Path, variant_dirs: list[Path]) -> None:
    import shutil

    encoder = tmp_path / "shared-encoder"
    shutil.copytree(variant_dirs[0] / "encoder", encoder)
    shared_models = []
    for i, source in enumerate(variant_dirs[:2]):
        # The same model as a bot trained on a shared encoder: its encoder referenced, not bundled.
        model_dir = tmp_path / f"shared{i}"
        shutil.copytree(source, model_dir, ignore=shutil.ignore_patterns("encoder"))
        edit_model_json(model_dir, refer_to_encoder(encoder))
        shared_models.append(model_dir)
    expected = [answers(m) for m in shared_models]
    registry = Registry(tmp_path / "reg")
    for i, model_dir in enumerate(shared_models):
        registry.publish(model_dir, bot=f"bot{i}")
    stored = list((registry.root / "encoders").iterdir())
    assert len(stored) == 1 and not (registry.version_dir("bot0", "v000001") / "encoder").exists()
    shutil.rmtree(encoder)
    moved = Registry(shutil.move(str(registry.root), str(tmp_path / "elsewhere")))
    for i in range(2):
        live = moved.live_path(f"bot{i}")
        assert live is not None and answers(live[1]) == expected[i]
