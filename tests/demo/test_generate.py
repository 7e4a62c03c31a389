"""The generated demo bot: deterministic, committed as generated, and valid data that annotates
entities the way docs/entities.md recommends (the noun, not its particle)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from malmoi.data import validate_bot
from malmoi.data._inline_yaml import parse_markup
from malmoi.demo.generate import _ENTITIES, DOMAIN_WORDS, SAMPLE_QUESTIONS, _attach, generate_demo_bot

ENTITY_INTENTS = ["dust", "restaurant", "travel", "weather"]
ENTITY_TYPES = {"DATE", "LOCATION", "PLACE", "RESTAURANT"}
COMMITTED = Path(__file__).resolve().parents[2] / "examples" / "demo-bot"
# What each entity type may be: exactly a value of the generator's lists, never value + particle.
VALUES: dict[str, set[str]] = {}
for _label, _values in _ENTITIES.values():
    VALUES.setdefault(_label, set()).update(_values)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _items(bot: Path, intent: str) -> list[str]:
    """The utterances of an intent as written, entities marked: ``[하동](LOCATION)에 비 와``."""
    data = yaml.safe_load((bot / "data" / "intents" / f"{intent}.yaml").read_text(encoding="utf-8"))
    assert list(data["intents"]) == [intent]
    return data["intents"][intent]


def _texts(bot: Path, intent: str) -> list[str]:
    return [parse_markup(item)[0] for item in _items(bot, intent)]


def _greetings(bot: Path) -> list[str]:
    with open(bot / "data" / "intents" / "greeting.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == ["question"]
    return [row["question"] for row in rows]


def _ood(bot: Path) -> list[str]:
    return (bot / "data" / "ood" / "ood.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo_bot(tmp_path_factory.mktemp("demo") / "bot")


def test_generate_same_seed_gives_identical_files(bot: Path, tmp_path: Path) -> None:
    again = generate_demo_bot(tmp_path / "again", seed=0)
    assert _files(again) == _files(bot)


def test_generate_other_seed_gives_other_data(bot: Path, tmp_path: Path) -> None:
    other = generate_demo_bot(tmp_path / "other", seed=1)
    assert _files(other)["data/intents/weather.yaml"] != _files(bot)["data/intents/weather.yaml"]


def test_committed_example_equals_fresh_generation(bot: Path) -> None:
    assert _files(COMMITTED) == _files(bot), (
        "examples/demo-bot drifted from the generator; regenerate it with "
        "`python -m malmoi.demo.generate examples/demo-bot`"
    )


def test_bot_yaml_has_identity_scenarios_and_dialogue(bot: Path) -> None:
    from malmoi.settings import BotConfig

    settings = yaml.safe_load((bot / "bot.yaml").read_text(encoding="utf-8"))
    assert list(settings) == ["name", "language", "description", "system_entities", "timezone", "scenarios",
                              "dialogue"]
    assert settings["name"] == "malmoi-demo"
    assert settings["language"] == "ko"
    config = BotConfig.model_validate(settings)  # training settings stay the defaults
    assert set(config.scenarios) == set(ENTITY_INTENTS)
    assert set(config.dialogue.answers) == {"greeting"}
    assert {e for s in config.scenarios.values() for e in s.entities} == ENTITY_TYPES
    # Dates resolve (docs/entities.md): the weather and dust answers show them as 5월 16일.
    assert config.system_entities == ["time"]
    assert all(config.scenarios[i].entities["DATE"].type == "sys.time" for i in ("weather", "dust"))


def test_generated_bot_is_valid(bot: Path) -> None:
    assert validate_bot(bot) == []
    assert sorted(p.name for p in (bot / "data" / "intents").iterdir()) == [
        "dust.yaml", "greeting.csv", "restaurant.yaml", "travel.yaml", "weather.yaml"]


@pytest.mark.parametrize("intent", ENTITY_INTENTS)
def test_intent_has_enough_distinct_utterances(bot: Path, intent: str) -> None:
    texts = _texts(bot, intent)
    assert len(texts) >= 300
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("intent", ENTITY_INTENTS)
def test_entities_are_the_nouns_without_their_particles(bot: Path, intent: str) -> None:
    for item in _items(bot, intent):
        for _, _, type_, written in parse_markup(item)[1]:
            value = written[1 : written.index("](")]
            assert type_ in ENTITY_TYPES and value in VALUES[type_], item


def test_particles_follow_entities_outside_the_brackets(bot: Path) -> None:
    items = [item for intent in ENTITY_INTENTS for item in _items(bot, intent)]
    types = {type_ for item in items for _, _, type_, _ in parse_markup(item)[1]}
    assert types == ENTITY_TYPES
    for particle in ("(LOCATION)에서", "(LOCATION)에", "(DATE)은", "(PLACE)으로", "(RESTAURANT)이"):
        assert any(particle in item for item in items), particle
    assert any("[다음 주 토요일](DATE)" in item for item in items)  # entities of several words


def test_no_utterance_appears_under_two_intents(bot: Path) -> None:
    by_intent = {intent: set(_texts(bot, intent)) for intent in ENTITY_INTENTS}
    by_intent["greeting"] = set(_greetings(bot))
    seen: set[str] = set()
    for questions in by_intent.values():
        assert not questions & seen
        seen |= questions


def test_greeting_is_a_kochat_csv_intent_without_entities(bot: Path) -> None:
    greetings = _greetings(bot)
    assert "안녕" in greetings
    assert 90 <= len(greetings) == len(set(greetings))
    assert all(isinstance(g, str) and "[" not in g for g in greetings)


def test_ood_is_large_distinct_and_disjoint_from_intents(bot: Path) -> None:
    ood = _ood(bot)
    assert len(ood) >= 600
    assert len(set(ood)) == len(ood)
    in_domain = {t for i in ENTITY_INTENTS for t in _texts(bot, i)} | set(_greetings(bot))
    assert not set(ood) & in_domain
    assert not [line for line in ood if any(w in line for w in DOMAIN_WORDS)]


def test_sample_questions_are_not_training_data(bot: Path) -> None:
    assert len(SAMPLE_QUESTIONS) >= 6
    data = {t for i in ENTITY_INTENTS for t in _texts(bot, i)}
    data |= set(_greetings(bot)) | set(_ood(bot))
    assert not set(SAMPLE_QUESTIONS) & data
    all_text = " ".join(data)
    assert "삼척" not in all_text and "보령" not in all_text  # the samples' unseen cities


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("서울", "은", "서울은"),
        ("제주", "은", "제주는"),
        ("피자", "이", "피자가"),
        ("국밥", "이", "국밥이"),
        ("바다", "으로", "바다로"),
        ("한옥마을", "으로", "한옥마을로"),
        ("산", "으로", "산으로"),
        ("부산", "에서", "부산에서"),
        ("3일", "은", "3일은"),
    ],
)
def test_attach_particle_follows_final_consonant(word: str, particle: str, expected: str) -> None:
    assert _attach(word, particle) == expected
