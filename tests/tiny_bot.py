"""The tiny Korean bot of the shared fixtures, as a module of its own so that a test may import it by
name (``from tiny_bot import write_tiny_bot``: "conftest" names several files in this tree)."""

from __future__ import annotations

import itertools
from pathlib import Path

CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "전주", "제주"]
DATES = ["오늘", "내일", "모레", "주말"]
FOODS = ["김밥", "국밥", "냉면", "파스타", "초밥", "치킨"]
OOD = ["노래 틀어줘", "알람 맞춰줘", "재미있는 농담 해줘", "환율 알려줘", "주식 시세 어때", "영화 예매해줘",
       "택시 불러줘", "오늘 뉴스 읽어줘", "계산기 켜줘", "메일 보내줘", "사진 찍어줘", "게임 하자"]


def write_tiny_bot(
    root: Path, *, with_ood: bool = True, settings: str = "", encoder: str = "{dim: 32, layers: 1}",
    training: str = "{epochs: 25, patience: 25, batch_size: 16}",
) -> Path:
    (root / "data" / "intents").mkdir(parents=True)
    (root / "bot.yaml").write_text(
        f"name: tiny\nlanguage: ko\nsettings:\n  encoder: {encoder}\n  training: {training}\n" + settings, "utf-8"
    )
    weather = ["question,label"]
    for city, date in itertools.product(CITIES, DATES):
        weather.append(f"{date} {city} 날씨 알려줘,S-DATE S-LOCATION O O")
        weather.append(f"{city} {date} 비 와?,S-LOCATION S-DATE O O")
    restaurant = ["question,label"]
    for city, food in itertools.product(CITIES, FOODS):
        restaurant.append(f"{city} {food} 맛집 추천해줘,S-LOCATION S-RESTAURANT O O")
    greeting = ["question", "안녕", "안녕하세요", "반가워", "하이", "좋은 아침", "고마워", "감사합니다", "잘 지냈어?"]
    for name, rows in [("weather", weather), ("restaurant", restaurant), ("greeting", greeting)]:
        (root / "data" / "intents" / f"{name}.csv").write_text("\n".join(rows) + "\n", "utf-8")
    if with_ood:
        (root / "data" / "ood").mkdir()
        (root / "data" / "ood" / "ood.txt").write_text("\n".join(OOD * 2) + "\n", "utf-8")
    return root
