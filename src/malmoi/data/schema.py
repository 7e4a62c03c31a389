"""The one in-memory representation every data format loads into."""

from __future__ import annotations

from dataclasses import dataclass, field

from malmoi.data.problems import Problem
from malmoi.labels import FALLBACK

# What `malmoi review answer` writes into a bot directory. Each utterance there counts this many times
# in an epoch of training and is never held out for validation, so that a reviewer's answer weighs
# against the many utterances of the bot's data (4 is a first choice, not yet measured on the demo
# bot; `malmoi retrain`'s gate refuses a candidate that did not learn one).
REVIEWED_INTENTS_FILE = "data/intents/reviewed.yml"
REVIEWED_OOD_FILE = "data/ood/reviewed.csv"
REVIEWED_WEIGHT = 4

# The intent name of a parse result that no intent fits: reserved, in any case (malmoi.labels).
FALLBACK_INTENT = FALLBACK


@dataclass(frozen=True)
class Entity:
    """An entity as a character span of its utterance: ``text[start:end] == value``."""

    start: int
    end: int
    type: str
    value: str


@dataclass(frozen=True)
class Example:
    """One labelled utterance.

    ``intent`` is ``None`` for out-of-domain examples. ``source`` is ``"path:line"`` so
    that later errors (duplicates, evaluation reports) can point back to the data. ``weight``:
    how many times an epoch of training counts it (a reviewer's answer counts more, and always
    trains: :data:`REVIEWED_WEIGHT`).
    """

    text: str
    intent: str | None
    entities: tuple[Entity, ...] = ()
    source: str = ""
    weight: int = 1


@dataclass
class BotData:
    """All utterances of a bot: in-domain examples and out-of-domain ones.

    ``left_out`` lists the utterances that ``load_bot(bot_dir, skip_invalid=True)`` left out,
    one error each (file, line and reason); it is empty otherwise.
    """

    examples: list[Example] = field(default_factory=list)
    ood: list[Example] = field(default_factory=list)
    left_out: list[Problem] = field(default_factory=list)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples if e.intent is not None})

    @property
    def entity_types(self) -> list[str]:
        return sorted({ent.type for e in self.examples for ent in e.entities})
