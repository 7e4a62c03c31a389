"""Held-out test data for the tiny bot of tests/conftest.py, and messages its model falls back on."""

from __future__ import annotations

import itertools
from pathlib import Path

# Worded unlike the tiny bot's training templates, so that they measure something.
TEST_WEATHER = [f"{city} {date} 날씨 어때" for city, date in itertools.product(["서울", "부산", "대구", "광주"],
                                                                              ["오늘", "내일", "주말"])]
TEST_RESTAURANT = [f"{city}에서 {food} 맛집 알려줘" for city, food in itertools.product(["서울", "인천", "울산"],
                                                                                    ["김밥", "냉면", "초밥", "치킨"])]
TEST_GREETING = ["안녕하세요 반가워요", "하이 안녕", "고마워요"]
TEST_OOD = ["뉴스 틀어줘", "택시 좀 불러줘", "주식 얼마야", "영화표 예매해줘", "농담 하나 해줘"]

# Messages a user sends that the tiny bot was not trained on.
UNSURE_WEATHER = ["우산 챙겨야 할까", "우산 챙겨야 할까?", "밖에 추워?"]
UNSURE_OOD = ["노래 한 곡 틀어줘"]


def write_test_data(bot_dir: Path) -> Path:
    """``bot_dir/test``: a bot directory of held-out utterances, as `malmoi retrain` reads it."""
    test = bot_dir / "test"
    (test / "data" / "intents").mkdir(parents=True)
    (test / "data" / "ood").mkdir()
    (test / "bot.yaml").write_text("name: tiny-test\nmin_examples_per_intent: 1\n", "utf-8")
    for name, rows in [("weather", TEST_WEATHER), ("restaurant", TEST_RESTAURANT), ("greeting", TEST_GREETING)]:
        (test / "data" / "intents" / f"{name}.csv").write_text("question\n" + "\n".join(rows) + "\n", "utf-8")
    (test / "data" / "ood" / "ood.txt").write_text("\n".join(TEST_OOD) + "\n", "utf-8")
    return test


def sabotage(bot_dir: Path) -> None:
    """Swap the weather and restaurant utterances: a candidate trained on this is much worse."""
    intents = bot_dir / "data" / "intents"
    weather, restaurant = (intents / "weather.csv").read_bytes(), (intents / "restaurant.csv").read_bytes()
    (intents / "weather.csv").write_bytes(restaurant)
    (intents / "restaurant.csv").write_bytes(weather)
