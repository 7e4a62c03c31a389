"""Components: a plug-in encoder from this file, the numpy twins, shared encoders, a re-entrant fit."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import torch

import malmoi
from malmoi import registry
from malmoi.data import load_bot
from malmoi.encode import Encoder
from malmoi.encode.runtime import loaded_encoders
from malmoi.model.model import Model
from malmoi.settings import BotConfig, ComponentSettings
from malmoi.text import Analyzer


class CharBagSettings(ComponentSettings):
    type: str = "test_char_bag.v1"
    dim: int = 16


@registry.encoders.register("test_char_bag.v1", settings=CharBagSettings)
class CharBag(Encoder):
    """Each token is the mean of its hashed characters, with no context: the simplest encoder."""

    def __init__(self, settings: CharBagSettings):
        super().__init__(settings)
        self.output_dim = settings.dim
        self.table = torch.nn.EmbeddingBag(512, settings.dim, mode="mean")

    def forward(self, docs):  # the default featurize/collate hand over the Docs themselves
        length = max(1, max(len(d.tokens) for d in docs))
        vectors = torch.zeros(len(docs), length, self.output_dim)
        mask = torch.zeros(len(docs), length, dtype=torch.bool)
        for row, doc in enumerate(docs):
            for col, token in enumerate(doc.tokens or []):
                ids = torch.tensor([ord(c) % 512 for c in token.text])
                vectors[row, col] = self.table(ids[None])[0]
            mask[row, : max(1, len(doc.tokens))] = True
        return vectors, mask


def test_an_encoder_defined_in_this_file_trains_a_bot_and_reloads(make_tiny_bot, tmp_path):
    bot = make_tiny_bot(encoder="{type: test_char_bag, dim: 24}", training="{epochs: 15, batch_size: 16}")
    model = malmoi.train(bot, progress=False)
    assert model.settings.encoder.type == "test_char_bag.v1"
    assert model.encoder is not None and model.encoder.output_dim == 24
    result = model.parse("내일 부산 날씨 알려줘")
    assert result.intent.name == "weather"
    reloaded = malmoi.load(model.save(tmp_path / "plugin"))
    for text in ["내일 부산 날씨 알려줘", "제주 냉면 맛집 추천해줘", "노래 틀어줘"]:
        assert reloaded.parse(text) == model.parse(text)


def test_an_unknown_encoder_is_a_settings_error_that_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"no encoder named 'transformer'; registered: .*cnn"):
        BotConfig.model_validate({"settings": {"encoder": {"type": "transformer"}}})


@pytest.mark.parametrize("kind", ["cnn", "bilstm"])
def test_the_parsing_encoder_gives_the_training_encoder_s_vectors(kind):
    from malmoi.encode.runtime import artifact_encoder, encoder_files

    config = BotConfig.model_validate(
        {"language": "ko", "settings": {"encoder": {"type": kind, "dim": 16, "layers": 2}}}
    )
    encoder = registry.encoders.get(config.settings.encoder.type).factory(config.settings.encoder)
    docs = Analyzer("ko").many(
        ["내일 서울 날씨 알려줘", "부산", "", "다음 주 토요일에 제주도 여행 갈만한 곳 추천해 줄래?"]
    )
    encoder.initialize(docs[:2])
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.normal_()
    encoder.eval()
    # The parsing side keeps the embedding rows as int8: give the training side the same rows,
    # so that what is compared is the two computations, not the rounding.
    state, arrays = encoder.export()
    encoder.embedding.load_export("embedding.", state, arrays)
    with torch.no_grad():
        vectors, mask = encoder(encoder.collate([encoder.featurize(d) for d in docs]))
    meta, _ = encoder_files(name="t", type_=config.settings.encoder.type,
                            settings=config.settings.encoder.model_dump(mode="json"),
                            state=state, arrays=arrays, output_dim=encoder.output_dim)
    runtime = artifact_encoder(meta, arrays, path="")
    assert type(runtime).__name__ == ("CNNRuntime" if kind == "cnn" else "ArtifactEncoder")  # numpy twin or torch
    for i, got in enumerate(runtime.vectors(docs)):
        expected = vectors[i, : int(mask[i].sum())].numpy()
        assert got.shape == expected.shape
        assert np.allclose(got, expected, atol=1e-4), i


def test_parsing_reads_training_morphemes_from_the_model_not_from_kiwi(monkeypatch):
    """Recovering a morpheme's vector costs 320 calls into Kiwi; the model keeps training's."""
    from malmoi.encode.runtime import artifact_encoder, encoder_files
    from malmoi.text import morpheme_vectors

    config = BotConfig.model_validate({"language": "ko", "settings": {"encoder": {"dim": 16, "layers": 1}}})
    encoder = registry.encoders.get("cnn").factory(config.settings.encoder)
    seen, unseen = Analyzer("ko").many(["내일 서울 날씨 알려줘", "모레 광주 맛집"])
    encoder.initialize([seen])
    state, arrays = encoder.export()
    meta, _ = encoder_files(name="t", type_="cnn.v1", settings=config.settings.encoder.model_dump(mode="json"),
                            state=state, arrays=arrays, output_dim=encoder.output_dim)
    runtime = artifact_encoder(meta, arrays, path="")
    recovered: list[int] = []
    table = morpheme_vectors.morpheme_vectors()
    original = table.vector
    monkeypatch.setattr(table, "vector", lambda m: recovered.append(m) or original(m))
    runtime.vectors([seen])
    assert recovered == []
    runtime.vectors([unseen])
    assert recovered and set(recovered) <= {m for t in unseen.tokens for m in t.morphemes}


@pytest.mark.slow
def test_two_bots_on_one_shared_encoder_hold_one_copy_of_it(make_tiny_bot, tmp_path):
    # An encoder of the default width, so that a second copy would stand out from the heads.
    base = malmoi.train(make_tiny_bot(encoder="{dim: 128, layers: 1}"), progress=False).save(tmp_path / "base")
    shared = f"{{type: shared, path: {base / 'encoder'}}}"
    second = malmoi.train(make_tiny_bot(encoder=shared, training="{epochs: 15, batch_size: 16}"), progress=False)
    assert second.parse("내일 부산 날씨 알려줘").intent.name == "weather"
    second_dir = second.save(tmp_path / "second")
    assert not (second_dir / "encoder").exists()  # a reference, not a copy
    reference = json.loads((second_dir / "model.json").read_text("utf-8"))["parts"]["encoder"]["state"]
    assert reference["bundled"] is False and reference["sha256"] == second.encoder.sha256
    assert reference["path"] == str(base / "encoder")
    del second

    tracemalloc.start()
    try:
        first = malmoi.load(base)
        after_first = tracemalloc.get_traced_memory()[0]
        other = malmoi.load(second_dir)
        added = tracemalloc.get_traced_memory()[0] - after_first
    finally:
        tracemalloc.stop()
    assert other.encoder is first.encoder
    assert sum(1 for e in loaded_encoders() if e.sha256 == first.encoder.sha256) == 1
    # The second bot added its own heads and n-grams, not a second encoder.
    assert first.encoder.nbytes > 200_000  # int8 rows, float convolutions
    assert added < other.nbytes + first.encoder.nbytes / 2, (added, other.nbytes, first.encoder.nbytes)
    assert other.nbytes < first.nbytes - first.encoder.nbytes / 2


@pytest.mark.slow
def test_fit_is_reentrant_and_leaves_the_global_random_state_alone(tiny_bot):
    config, data = load_bot(tiny_bot)
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    texts = ["내일 서울 날씨 알려줘", "부산 초밥 맛집", "안녕", "노래 틀어줘"]
    first = Model(config).fit(data.examples, data.ood, random_state=7).intent_scores(texts)
    again = Model(config).fit(data.examples, data.ood, random_state=7).intent_scores(texts)
    other = Model(config).fit(data.examples, data.ood, random_state=8).intent_scores(texts)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.shape == (4, 3) and np.allclose(first.sum(1), 1.0, atol=1e-5)


def test_intent_scores_are_the_parse_s_probabilities(tiny_model):
    texts = ["내일 서울 날씨 알려줘", "부산 초밥 맛집", "안녕"]
    scores = tiny_model.intent_scores(texts)
    for row, result in zip(scores, tiny_model.parse_batch(texts)):
        by_name = {r.name: r.confidence for r in result.intent_ranking}
        assert np.allclose(row, [by_name[name] for name in tiny_model.intents], atol=1e-6)


def test_a_result_keeps_its_analysis(tiny_model):
    result = tiny_model.parse("내일  서울 날씨 알려줘")
    doc = result.doc
    assert doc is not None and doc.text == "내일  서울 날씨 알려줘" and doc.normalized == "내일 서울 날씨 알려줘"
    assert [t.text for t in doc.tokens][:3] == ["내일", "서울", "날씨"]
    assert doc.vectors["tokens"].shape[0] == len(doc.tokens)
    assert "doc" not in result.model_dump() and "_doc" not in result.model_dump_json()


def test_an_unfitted_model_says_so():
    from malmoi.model.model import NotFittedError

    with pytest.raises(NotFittedError, match="not trained yet"):
        Model(BotConfig()).parse("안녕")
