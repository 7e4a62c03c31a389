"""A part defined here, outside malmoi, works like malmoi's own: an entity extractor that tags every
run of digits as NUMBER is registered in this file, chosen in bot.yaml, trained, saved, loaded,
served, and keeps the parts' contract. Nothing else in malmoi knows of it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pytest

import malmoi
from malmoi import registry
from malmoi.data.schema import Example
from malmoi.parts import Extractor, Found, LoadContext
from malmoi.settings import ComponentSettings
from malmoi.text.doc import Doc
from parts_contract import check_part_contract


class DigitRunsSettings(ComponentSettings):
    type: str = "test-digit-runs.v1"
    entity: str = "NUMBER"


@registry.extractors.register("test-digit-runs.v1", settings=DigitRunsSettings)
class DigitRuns(Extractor):
    """Every run of digits is an entity; fitting counts the digit runs seen in training (its state)."""

    def __init__(self, settings: DigitRunsSettings, seen: int = 0):
        self.settings = settings
        self.seen = seen

    def fit(self, examples: Sequence[Example]) -> DigitRuns:
        self.seen = sum(len(re.findall(r"\d+", e.text)) for e in examples)
        return self

    def entity_types(self) -> list[str]:
        return [self.settings.entity]

    def extract(self, doc: Doc, *, now: datetime) -> list[Found]:
        runs = re.finditer(r"\d+", doc.normalized)
        return [Found(self.settings.entity, m.start(), m.end(), int(m.group())) for m in runs]

    def state(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"seen": np.array([self.seen], np.int64)}  # an array too, to check the part's own file

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> DigitRuns:
        if int(arrays["seen"][0]) != state["seen"]:
            raise ValueError("the saved count and array disagree")
        return cls(settings, int(state["seen"]))


@pytest.fixture
def plugin_bot(make_tiny_bot: Any) -> Any:
    bot = make_tiny_bot(settings="  extractors: [{type: test-digit-runs}]\n")
    rows = (bot / "data" / "intents" / "restaurant.csv").read_text("utf-8")
    extra = "".join(f"서울 국밥 {n}인분 추천해줘,S-LOCATION S-RESTAURANT O O\n" for n in (2, 3, 4, 5))
    (bot / "data" / "intents" / "restaurant.csv").write_text(rows + extra, "utf-8")
    return bot


def test_an_extractor_defined_here_is_trained_saved_loaded_and_served(plugin_bot, tmp_path):
    model = malmoi.train(plugin_bot, progress=False)
    assert model.part_types["extractor-test-digit-runs"] == ("extractors", "test-digit-runs.v1")
    found = model.parse("부산 국밥 12인분 7시에 추천해줘")
    numbers = [(e.entity, e.value) for e in found.entities if e.entity == "NUMBER"]
    assert numbers == [("NUMBER", "12"), ("NUMBER", "7")]
    assert "NUMBER" in model.entity_types

    reloaded = malmoi.load(model.save(tmp_path / "model"))
    assert reloaded.parse("부산 국밥 12인분 7시에 추천해줘") == found
    assert reloaded.parts["extractor-test-digit-runs"].seen == 4

    pytest.importorskip("fastapi", reason="serving needs the serve extra")
    from fastapi import testclient

    from malmoi.serve import create_app

    app = create_app(tmp_path / "model", database_url=f"sqlite:///{tmp_path / 'state.sqlite3'}")
    with testclient.TestClient(app, base_url="http://localhost") as client:
        answer = client.post("/v1/parse", json={"text": "국밥 3인분"}).json()
    assert {"entity": "NUMBER", "value": "3", "start": 3, "end": 4, "resolved": 3} in answer["entities"]


def test_the_plugin_extractor_keeps_the_parts_contract(tmp_path):
    part = DigitRuns(DigitRunsSettings()).fit([Example(text="2인분 3개", intent="order")])
    check_part_contract("extractors", "test-digit-runs.v1", part, part.settings, tmp_path)
