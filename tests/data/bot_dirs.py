"""Tiny bot files for the data tests, and a helper to pick out one problem."""

from __future__ import annotations

from pathlib import Path

from malmoi.data import Problem

WEATHER_CSV = """question,label
내일 서울 날씨 알려줘,S-DATE S-LOCATION O O
부산 모레 비 와?,S-LOCATION S-DATE O O
다음 주 대구 날씨 어때,B-DATE E-DATE S-LOCATION O O
인천 날씨,S-LOCATION O
오늘 광주 맑아?,S-DATE S-LOCATION O
"""

GREETING_CSV = """question
안녕
안녕하세요
반가워
좋은 아침
잘 지냈어?
"""

# A clean bot: two intents with five examples each, entities in BIOES.
BASE_FILES = {
    "bot.yaml": "name: test\n",
    "data/intents/weather.csv": WEATHER_CSV,
    "data/intents/greeting.csv": GREETING_CSV,
}


def only(problems: list[Problem], file: Path | str, line: int | None = None) -> Problem:
    """The one problem in ``file`` (at ``line`` if given), checking its message names both."""
    found = [p for p in problems if p.file == str(file) and (line is None or p.line == line)]
    assert len(found) == 1, "\n".join(map(str, problems))
    where = f"{file}:{line}" if line is not None else str(file)
    assert str(found[0]).startswith(where + ": "), str(found[0])
    return found[0]
