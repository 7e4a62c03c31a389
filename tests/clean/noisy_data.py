"""Synthetic bots with known flipped labels for the cleaning tests (a helper module, imported by name)."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from malmoi.data.schema import Example

CITIES = ["london", "paris", "berlin", "madrid", "rome", "vienna"]
DAYS = ["today", "tomorrow", "on monday", "this weekend", "tonight"]
FOODS = ["sushi", "pizza", "ramen", "tacos", "curry"]
GENRES = ["jazz", "rock", "classical", "hip hop", "blues", "pop"]
TIMES = ["six am", "seven thirty", "noon", "nine pm", "five fifteen", "eight"]

TEMPLATES = {
    "weather": [f"what is the weather in {c} {d}" for c, d in itertools.product(CITIES, DAYS)],
    "restaurant": [f"find a {f} restaurant near {c}" for f, c in itertools.product(FOODS, CITIES)],
    "music": [f"play some {g} music {d}" for g, d in itertools.product(GENRES, DAYS)],
    "alarm": [f"set an alarm for {t} {d}" for t, d in itertools.product(TIMES, DAYS)],
}
INTENTS = sorted(TEMPLATES)


def clean_rows() -> list[tuple[str, str]]:
    return [(text, intent) for intent in INTENTS for text in TEMPLATES[intent][:30]]


def noisy_rows(per_intent: int = 2) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Rows with ``per_intent`` labels of each intent moved to the next intent; and text -> true intent."""
    rows = clean_rows()
    flipped: dict[str, str] = {}
    for k, intent in enumerate(INTENTS):
        wrong = INTENTS[(k + 1) % len(INTENTS)]
        picked = [i for i, (_, label) in enumerate(rows) if label == intent][3 : 3 + per_intent]
        for i in picked:
            flipped[rows[i][0]] = intent
            rows[i] = (rows[i][0], wrong)
    return rows, flipped


def as_examples(rows: list[tuple[str, str]]) -> list[Example]:
    return [Example(text, intent, (), f"mem:{i}") for i, (text, intent) in enumerate(rows, 1)]


def write_bot(root: Path, rows: list[tuple[str, str]]) -> Path:
    (root / "data" / "intents").mkdir(parents=True)
    (root / "bot.yaml").write_text("name: noisy\nlanguage: en\n", "utf-8")
    for intent in INTENTS:
        with open(root / "data" / "intents" / f"{intent}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["question"])
            writer.writerows([[text] for text, label in rows if label == intent])
    return root
