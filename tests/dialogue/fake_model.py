"""A rule-based stand-in for a trained model, so dialogue tests are instant and exact."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from malmoi.model.result import FALLBACK, EntitySpan, IntentScore, ParseResult
from malmoi.settings import BotConfig

LEXICON = {
    "LOCATION": ["서울", "부산", "대구", "제주"],
    "DATE": ["오늘", "내일", "모레"],
    "RESTAURANT": ["김밥", "국밥", "냉면"],
}
KEYWORDS = {"날씨": "weather", "맛집": "restaurant", "여행": "trip", "안녕": "greeting"}


class FakeModel:
    """Intent by keyword (confidence 0.99); a text with only entities gets ``guess`` at 0.6,
    as a real classifier guesses some intent for "부산"; anything else falls back."""

    intents: ClassVar[list[str]] = ["greeting", "restaurant", "trip", "weather"]
    tags: ClassVar[list[str]] = ["O"] + [f"{p}-{t}" for t in LEXICON for p in "BIES"]

    def __init__(self, config: dict | BotConfig, guess: str = "restaurant", whole_words: bool = False) -> None:
        self.config = config if isinstance(config, BotConfig) else BotConfig.model_validate(config)
        self.guess = guess
        self.whole_words = whole_words  # tag whole words, particles included, as Kochat data does

    def parse(self, text: str, *, now: datetime | None = None) -> ParseResult:
        self.last_now = now  # what the caller gave as the reference time
        entities = []
        for entity, values in LEXICON.items():
            for value in values:
                start = text.find(value)
                if start >= 0:
                    end = start + len(value)
                    while self.whole_words and end < len(text) and not text[end].isspace():
                        end += 1
                    entities.append(EntitySpan(entity=entity, value=text[start:end], start=start, end=end))
        entities.sort(key=lambda e: e.start)
        intent = next((i for k, i in KEYWORDS.items() if k in text), None)
        confidence = 0.99
        if intent is None and entities:
            intent, confidence = self.guess, 0.6
        fallback = intent is None
        top = IntentScore(name=FALLBACK if fallback else intent, confidence=0.3 if fallback else confidence)
        ranking = [IntentScore(name=i, confidence=top.confidence if i == intent else 0.0) for i in self.intents]
        return ParseResult(text=text, intent=top, intent_ranking=ranking, fallback=fallback, entities=entities)


CONFIG = {
    "name": "fake",
    "scenarios": {
        "weather": {
            "entities": {"LOCATION": {"question": "어느 지역이요?"}, "DATE": {"default": "오늘"}},
            "answer": "{DATE} {LOCATION} 맑음",
        },
        "restaurant": {
            "entities": {
                "LOCATION": {"question": "어느 동네요?"},
                "RESTAURANT": {"question": "무슨 음식이요?", "accept_text": True},
            },
            "answer": "{LOCATION} {RESTAURANT} 맛집",
        },
        "trip": {
            "entities": {"LOCATION": {}, "DATE": {}, "RESTAURANT": {}},
            "answer": "{DATE} {LOCATION} 여행, {RESTAURANT}",
        },
    },
    "dialogue": {"answers": {"greeting": "안녕하세요!"}, "fallback_answers": ["모르겠어요.", "다시 말해 주세요."]},
}
