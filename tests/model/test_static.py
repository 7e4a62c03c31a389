"""Frozen encoders that parse without a network: ``model2vec`` (a static table) and ``kiwi-vectors``.

The model2vec folder is made here, tiny and by hand (``StaticModel.save_pretrained`` of a word-level
tokenizer and vectors in which every city lies near every other city), so that the test can tell
whether the pretrained vectors reach the heads: a city the bot never saw in training is still
tagged as a city. Skipped, saying so, without the ``pretrained`` extra (model2vec).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import malmoi
from malmoi.encode import kiwi
from malmoi.errors import ModelLoadError
from malmoi.text import Analyzer
from model_files import CITIES, DATES, FOODS, NEEDS_PRETRAINED, edit_model_json, point_encoder_at, static_folder

SEEN_CITIES = CITIES[:6]  # rome, lyon: never trained on
OOD = ["what is the capital of peru", "play some jazz", "set an alarm for 7", "tell me a joke", "order new shoes"]


def _write_bot(root: Path, encoder: str) -> Path:
    (root / "data" / "intents").mkdir(parents=True)
    (root / "bot.yaml").write_text(
        f"name: tiny\nlanguage: en\nsettings:\n  encoder: {encoder}\n"
        "  training: {epochs: 30, patience: 30, batch_size: 16}\n",
        "utf-8",
    )
    weather = ["question,label"]
    for city in SEEN_CITIES:
        for date in DATES:
            weather.append(f"weather in {city} {date},O O S-LOCATION S-DATE")
            weather.append(f"will it rain {date} in {city},O O O S-DATE O S-LOCATION")
    restaurant = ["question,label"] + [f"find {f} in {c},O S-FOOD O S-LOCATION" for c in SEEN_CITIES for f in FOODS[:4]]
    greeting = ["question", "hello", "hi there", "good morning", "hey", "thanks", "hello there", "hey there"]
    for name, rows in [("weather", weather), ("restaurant", restaurant), ("greeting", greeting)]:
        (root / "data" / "intents" / f"{name}.csv").write_text("\n".join(rows) + "\n", "utf-8")
    (root / "data" / "ood").mkdir()
    (root / "data" / "ood" / "ood.txt").write_text("\n".join(OOD * 3) + "\n", "utf-8")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return static_folder(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, folder):
    root = tmp_path_factory.mktemp("static-bot")
    model = malmoi.train(_write_bot(root / "bot", f"{{type: model2vec, path: '{folder}'}}"), progress=False)
    return model, model.save(root / "model")


def test_model2vec_bot_parses_intents_entities_and_unseen_cities(trained):
    model, model_dir = trained
    for m in (model, malmoi.load(model_dir)):
        weather = m.parse("weather in rome tomorrow")  # rome: only its pretrained vector is known
        assert (weather.intent.name, weather.fallback) == ("weather", False)
        assert {(e.entity, e.value) for e in weather.entities} == {("LOCATION", "rome"), ("DATE", "tomorrow")}
        food = m.parse("find burgers in lyon")
        assert food.intent.name == "restaurant"
        assert ("LOCATION", "lyon") in {(e.entity, e.value) for e in food.entities}
        assert m.parse("hello there").intent.name == "greeting"


def test_model2vec_token_rows_match_model2vec_itself(trained, folder):
    """Each token's row is its piece's vector beside model2vec's own sentence embedding."""
    from model2vec import StaticModel

    model, _ = trained
    reference = StaticModel.from_pretrained(str(folder))
    doc = Analyzer("en")("Weather in Rome, tomorrow!")
    rows = model.encoder.vectors([doc])[0]
    assert rows.shape == (len(doc.tokens), 2 * reference.dim)
    sentence = reference.encode([doc.normalized])[0]
    np.testing.assert_allclose(rows[:, reference.dim :], np.broadcast_to(sentence, (len(doc.tokens), reference.dim)),
                               rtol=1e-5, atol=1e-6)
    vocabulary = reference.tokenizer.get_vocab()
    for token, row in zip(doc.tokens, rows):
        word = doc.normalized[token.start : token.end].lower()
        if word in vocabulary:
            np.testing.assert_allclose(row[: reference.dim], reference.embedding[vocabulary[word]], rtol=1e-6)
        else:  # punctuation: no piece of its own, so the utterance's mean piece
            known = [vocabulary[w] for w in ("weather", "in", "rome", "tomorrow")]
            np.testing.assert_allclose(row[: reference.dim], reference.embedding[known].mean(0), rtol=1e-5)


def test_model2vec_artifact_references_the_folder_and_parses_without_torch(trained, folder):
    model, model_dir = trained
    files = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}
    assert files == {"model.json", "intent.safetensors", "entity.safetensors", "manifest.json"}  # no encoder/
    reference = json.loads((model_dir / "model.json").read_text("utf-8"))["parts"]["encoder"]["state"]
    assert reference["type"] == "model2vec.v1" and reference["bundled"] is False
    assert reference["path"] == str(folder.resolve())
    assert model.settings.lexical.type == "none.v1"
    code = (
        "import sys, malmoi\n"
        f"m = malmoi.load({str(model_dir)!r})\n"
        "print(m.parse('weather in rome today').intent.name, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["weather", "False"]


def test_model2vec_two_bots_share_one_table(trained, tmp_path):
    from malmoi.encode import static

    model, model_dir = trained
    first, second = malmoi.load(model_dir), malmoi.load(shutil.copytree(model_dir, tmp_path / "other"))
    assert first.encoder is second.encoder is model.encoder
    assert sum(1 for r in static.loaded_static() if r.sha256 == model.encoder.sha256) == 1
    assert second.nbytes < 1_000_000  # the bot's own arrays; the table is the process's


def test_model2vec_changed_or_missing_folder_is_refused_with_the_fix(trained, folder, tmp_path, monkeypatch):
    _, model_dir = trained
    changed = shutil.copytree(folder, tmp_path / "changed")
    config = json.loads((changed / "config.json").read_text("utf-8"))
    (changed / "config.json").write_text(json.dumps({**config, "normalize": False}), "utf-8")
    moved = shutil.copytree(model_dir, tmp_path / "model")
    edit_model_json(moved, point_encoder_at(changed))
    with pytest.raises(ModelLoadError, match="not the one the model was trained on"):
        malmoi.load(moved)
    edit_model_json(moved, point_encoder_at(tmp_path / "gone"))
    monkeypatch.delenv("MALMOI_ENCODER_PATH", raising=False)
    with pytest.raises(ModelLoadError, match="MALMOI_ENCODER_PATH"):
        malmoi.load(moved)
    monkeypatch.setenv("MALMOI_ENCODER_PATH", str(folder.parent))  # found again by its name
    assert malmoi.load(moved).parse("weather in paris today").intent.name == "weather"


def test_model2vec_path_that_is_no_model_is_refused_naming_it(tmp_path):
    pytest.importorskip("model2vec", reason=NEEDS_PRETRAINED)
    (tmp_path / "empty").mkdir()
    for path, message in [(tmp_path / "nowhere", "not found"), (tmp_path / "empty", "not a model2vec folder")]:
        bot = _write_bot(tmp_path / f"bot-{path.name}", f"{{type: model2vec, path: '{path}'}}")
        with pytest.raises(ModelLoadError, match=message) as caught:
            malmoi.train(bot, progress=False)
        assert str(path) in str(caught.value)


# --- kiwi-vectors -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def korean(tmp_path_factory):
    root = tmp_path_factory.mktemp("kiwi-bot")
    (root / "bot" / "data" / "intents").mkdir(parents=True)
    (root / "bot" / "bot.yaml").write_text(
        "name: kiwi\nsettings:\n  encoder: {type: kiwi-vectors}\n"
        "  training: {epochs: 100, patience: 100, batch_size: 8}\n",
        "utf-8",
    )
    cities, days = ["서울", "부산", "대구", "인천"], ["오늘", "내일", "모레"]
    weather = [f'    - "{d} [{c}](LOCATION) 날씨 알려줘"' for c in cities for d in days]
    weather += [f'    - "[{c}](LOCATION) {d} 비 와?"' for c in cities for d in days]
    songs = ["노래 틀어줘", "음악 좀 들려줘", "신나는 노래 틀어줘", "조용한 음악 재생해줘", "발라드 들려줘"]
    music = [f"    - {t}" for t in songs]
    (root / "bot" / "data" / "intents" / "intents.yaml").write_text(
        "intents:\n  weather:\n" + "\n".join(weather) + "\n  music:\n" + "\n".join(music) + "\n", "utf-8"
    )
    model = malmoi.train(root / "bot", progress=False)
    return model, model.save(root / "model")


def test_kiwi_vectors_bot_tags_a_city_it_never_saw(korean):
    model, model_dir = korean
    for m in (model, malmoi.load(model_dir)):
        result = m.parse("내일 광주 날씨 알려줘")  # 광주: in Kiwi's vectors near 부산, 대구; not in the data
        assert result.intent.name == "weather"
        assert ("LOCATION", "광주") in {(e.entity, e.value) for e in result.entities}
        # (the ranking: a threshold from 3 held-out utterances says little about this one)
        assert m.parse("신나는 음악 틀어줘").intent_ranking[0].name == "music"


def test_kiwi_vectors_artifact_names_the_kiwipiepy_version(korean, tmp_path, monkeypatch):
    _, model_dir = korean
    assert {p.name for p in model_dir.iterdir()} == {"model.json", "intent.safetensors", "entity.safetensors",
                                                     "manifest.json"}
    reference = json.loads((model_dir / "model.json").read_text("utf-8"))["parts"]["encoder"]["state"]
    assert reference["type"] == "kiwi-vectors.v1" and reference["name"].startswith("kiwipiepy ")

    other = kiwi.KiwiVectorsRuntime()
    other.name, other.sha256 = "kiwipiepy 0.1, model 0.1", "0" * 64
    monkeypatch.setattr(kiwi, "installed_vectors", lambda settings=None: other)
    with pytest.raises(ModelLoadError, match="install that kiwipiepy version or train the model again"):
        malmoi.load(model_dir)
