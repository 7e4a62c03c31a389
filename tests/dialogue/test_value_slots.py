"""Slots of a system type take resolved values; answer templates format them; webhooks receive them."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from fake_model import CONFIG, FakeModel

from malmoi.dialogue import Dialogue
from malmoi.model.result import EntitySpan, ParseResult

TOMORROW = "2024-05-16T00:00:00+09:00"
FRIDAY = "2024-05-17T00:00:00+09:00"


class ValueModel(FakeModel):
    """FakeModel whose DATE "내일" resolves, and that finds "금요일" as sys.time."""

    entity_types: ClassVar[list[str]] = ["DATE", "LOCATION", "RESTAURANT", "sys.time"]

    def parse(self, text: str) -> ParseResult:
        result = super().parse(text)
        spans = [EntitySpan(entity=e.entity, value=e.value, start=e.start, end=e.end,
                            resolved=TOMORROW if e.value == "내일" else None) for e in result.entities]
        if "금요일" in text:
            start = text.index("금요일")
            spans.append(EntitySpan(entity="sys.time", value="금요일", start=start, end=start + 3, resolved=FRIDAY,
                                    grain="day"))
        return result.model_copy(update={"entities": sorted(spans, key=lambda e: e.start)})


def value_bot(slot: dict, answer: str = "{DATE:%-m월 %-d일} {LOCATION} 맑음") -> Dialogue:
    config = copy.deepcopy(CONFIG)
    config["scenarios"] = {"weather": {"entities": {"LOCATION": {}, "DATE": slot}, "answer": answer}}
    config["dialogue"]["answers"] = {}
    return Dialogue(ValueModel(config))


def test_a_typed_slot_takes_the_resolved_value_and_the_template_formats_it() -> None:
    reply = value_bot({"type": "sys.time"}).chat("u", "내일 부산 날씨")
    assert (reply.answer, reply.state.slots["DATE"], reply.state.resolved) == (
        "5월 16일 부산 맑음", "내일", {"DATE": TOMORROW})


def test_a_typed_slot_takes_a_system_entity_when_the_tagger_found_none() -> None:
    bot = value_bot({"type": "sys.time", "question": "언제요?"})
    assert bot.chat("u", "부산 날씨").answer == "언제요?"
    reply = bot.chat("u", "금요일이요")
    assert (reply.answer, reply.state.resolved) == ("5월 17일 부산 맑음", {"DATE": FRIDAY})


def test_a_typed_default_is_resolved_now_in_the_bots_zone() -> None:
    reply = value_bot({"type": "sys.time", "default": "오늘"}).chat("u", "부산 날씨")
    today = datetime.now(ZoneInfo("Asia/Seoul"))
    assert reply.answer == f"{today.month}월 {today.day}일 부산 맑음"


def test_an_untyped_template_format_on_a_value_that_does_not_resolve_shows_the_text() -> None:
    assert value_bot({}).chat("u", "모레 부산 날씨").answer == "모레 부산 맑음"


def test_a_time_format_on_a_number_slot_is_refused_when_the_bot_loads() -> None:
    with pytest.raises(ValueError, match=r"does not fit a sys\.number slot"):
        value_bot({"type": "sys.number"})
