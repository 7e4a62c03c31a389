"""A reviewer's answers weigh more in training: the loader weighs the reviewed files, training never
holds them out for validation and counts each `weight` times an epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from malmoi.data import load_bot
from malmoi.data.schema import REVIEWED_WEIGHT, Example
from malmoi.model.training import _epoch_items, _Item, _split
from malmoi.review import Answer, ReviewLedger


def test_the_loader_weighs_the_reviewed_files_only(tiny_bot: Path) -> None:
    ReviewLedger(tiny_bot).record([
        Answer(text=text, intent=intent, markup=text, message_ids=(n,), reviewer="r", reviewed_at="t",
               model_version="v", bot="tiny")
        for n, (text, intent) in enumerate([("우산 챙겨야 할까", "weather"), ("ㅋㅋㅋ", None)], 1)])
    _, data = load_bot(tiny_bot)
    weights = {e.text: e.weight for e in [*data.examples, *data.ood]}
    assert REVIEWED_WEIGHT > 1
    assert weights["우산 챙겨야 할까"] == REVIEWED_WEIGHT and weights["ㅋㅋㅋ"] == REVIEWED_WEIGHT
    assert weights["내일 서울 날씨 알려줘"] == 1 and weights["노래 틀어줘"] == 1


def item(text: str, weight: int = 1) -> _Item:
    return _Item(Example(text, "weather", weight=weight), doc=None, intent=0, tag_ids=[])  # type: ignore[arg-type]


def test_weighed_examples_always_train_and_count_weight_times() -> None:
    items = [item(f"plain {i}") for i in range(10)] + [item(f"reviewed {i}", 3) for i in range(5)]
    for seed in range(5):
        train, valid = _split(items, 0.5, np.random.default_rng(seed))
        assert len(valid) == 5 and all(it.example.weight == 1 for it in valid)
        assert {it.example.text for it in train} >= {f"reviewed {i}" for i in range(5)}
    epoch = _epoch_items([item("a"), item("b", 3)], [item("c", 2)])
    assert [it.example.text for it in epoch] == ["a", "b", "b", "b", "c", "c"]
