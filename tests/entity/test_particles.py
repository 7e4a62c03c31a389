"""Korean particles: the entity span a model returns is the span its training data marks.

With inline annotation that tags only the noun (``[서울](LOCATION)에서``), the tokenizer's cut
between noun and particle is also the entity boundary, so the model learns to leave the particle
out, even for a city and particle it never saw together. With Kochat's per-word tags
(``서울에서`` tagged ``S-LOCATION``) the particle is part of the entity, and so it is returned
with it. See docs/entities.md.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

CITIES = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "전주", "제주"]
WEATHER = ["{city}{particle} 우산 필요해?", "{city}{particle} 날씨 알려줘"]
RESTAURANT = ["{city}{particle} 맛집 추천해줘", "{city}{particle} 갈 만한 식당 있어?"]
HELD_OUT = ("대전", "에서")  # this city is never seen with this particle in training
# Small and quick: a few seconds per model on one thread (the outcome holds for other seeds too).
SETTINGS = ("settings:\n  encoder: {dim: 32, layers: 1, hash_buckets: 4096}\n"
            "  training: {epochs: 12, patience: 12, batch_size: 16}\n")


def _topic(city: str) -> str:
    """은 after a final consonant, 는 after a vowel (서울은, 부산은, 대구는)."""
    return "은" if (ord(city[-1]) - 0xAC00) % 28 else "는"


def _utterances(templates: list[str]) -> list[tuple[str, str]]:
    """(city, text) for every city, particle and template, minus the held-out pair."""
    out = []
    for city, template in itertools.product(CITIES, templates):
        for particle in ("에서", _topic(city), "에"):
            if (city, particle) != HELD_OUT:
                out.append((city, particle, template))
    return [(city, template.format(city=city, particle=particle)) for city, particle, template in out]


def _inline_bot(root: Path) -> Path:
    """YAML with inline entities: only the noun is the entity."""
    lines = ["intents:"]
    for intent, templates in (("weather", WEATHER), ("restaurant", RESTAURANT)):
        lines.append(f"  {intent}:")
        for city, text in _utterances(templates):
            lines.append(f'    - "[{city}](LOCATION){text[len(city):]}"')
    (root / "data" / "intents").mkdir(parents=True)
    (root / "data" / "intents" / "all.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    (root / "bot.yaml").write_text("name: particles\nlanguage: ko\n" + SETTINGS, "utf-8")
    return root


def _kochat_bot(root: Path) -> Path:
    """Kochat CSV: the whole first word, particle included, is tagged S-LOCATION."""
    (root / "data" / "intents").mkdir(parents=True)
    for intent, templates in (("weather", WEATHER), ("restaurant", RESTAURANT)):
        rows = ["question,label"]
        for _, text in _utterances(templates):
            rows.append(f"{text},{' '.join(['S-LOCATION'] + ['O'] * (len(text.split()) - 1))}")
        (root / "data" / "intents" / f"{intent}.csv").write_text("\n".join(rows) + "\n", "utf-8")
    (root / "bot.yaml").write_text("name: particles\nlanguage: ko\n" + SETTINGS, "utf-8")
    return root


@pytest.fixture
def one_thread():
    """A model this small trains fastest on one thread, and the machine may be shared."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(
    ("make_bot", "expected"),
    [(_inline_bot, "대전"), (_kochat_bot, "대전에서")],
    ids=["inline-noun-only", "kochat-per-word"],
)
def test_returned_span_follows_the_annotation(tmp_path, make_bot, expected):
    import malmoi

    model = malmoi.train(make_bot(tmp_path / "bot"), progress=False)
    for text, intent in (("대전에서 우산 필요해?", "weather"), ("대전에서 맛집 추천해줘", "restaurant")):
        result = model.parse(text)
        assert result.intent.name == intent
        assert [(e.entity, e.value, e.start, e.end) for e in result.entities] == [
            ("LOCATION", expected, 0, len(expected))
        ]
