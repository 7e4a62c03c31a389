"""malmoi's own entity extractors (:class:`malmoi.parts.Extractor`), made from ``bot.yaml``.

- ``system-values.v1``: the ``system_entities`` of ``bot.yaml`` (``sys.time``, ``sys.number`` ...),
  found and resolved by :func:`malmoi.entity.values.find_values` in the bot's ``timezone``.
- ``dictionary.v1``: the dictionaries of ``data/entities/<TYPE>.csv|.yml``, which the data loader
  reads into ``BotConfig.dictionaries``; the part keeps them in its state, so a served model
  needs no bot directory. A match resolves to the canonical value, and so does a tagger's
  entity whose text is a synonym (:meth:`Extractor.canonical`).
- ``pattern.v1``: the ``entities: {TYPE: {pattern: ...}}`` of ``bot.yaml``.

:func:`configured_extractors` makes the ones a bot's configuration asks for; training adds them
to the model beside those of ``settings.extractors``. What they find is merged with the tagger's
entities by :func:`malmoi.entity.values.merge.merge`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from malmoi.component_settings import ComponentSettings
from malmoi.data.problems import Problem
from malmoi.entity.values import DictionaryMatcher, compile_patterns, find_patterns, find_values
from malmoi.entity.values.dictionary import Dictionary
from malmoi.labels import SYSTEM_KINDS, SYSTEM_PREFIX
from malmoi.parts import Extractor, Found, LoadContext

if TYPE_CHECKING:
    import numpy as np

    from malmoi.data.schema import Example
    from malmoi.settings import BotConfig
    from malmoi.text.doc import Doc

__all__ = [
    "DictionaryExtractor", "DictionarySettings", "PatternExtractor", "PatternSettings", "SystemValues",
    "SystemValuesSettings", "configured_extractors",
]


# What may follow a value inside a tagged entity that is that value ("금요일에", "8시쯤").
_AROUND = re.compile(r"\s*(?:에서부터|에서|에는|에도|부터|까지|으로|에|은|는|이|가|을|를|로|도|만|의|쯤|경)?[\s.,!?~]*")


class SystemValuesSettings(ComponentSettings):
    """``system-values``: the kinds of ``system_entities`` in ``bot.yaml``, in the bot's time zone."""

    type: str = "system-values.v1"
    kinds: list[str] = Field(min_length=1)
    timezone: str = "Asia/Seoul"

    @field_validator("kinds")
    @classmethod
    def _known(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in SYSTEM_KINDS]
        if unknown:
            raise ValueError(f"unknown system entity kind {unknown[0]!r}; the kinds are {', '.join(SYSTEM_KINDS)}")
        return list(dict.fromkeys(kinds))


class SystemValues(Extractor):
    """System values (``sys.<kind>``), resolved relative to the parse's reference time.

    Fitting learns which of the tagger's types are values of a kind: a type most of whose
    training entities are one value of that kind (DATE: "내일", "다음 주 금요일에") takes the
    value's resolution when the tagger finds it (the merge rule's rule 2); other types never do
    (a LOCATION that reads "3번 출구" is not the number 3).
    """

    def __init__(self, settings: SystemValuesSettings, types: Mapping[str, str] | None = None):
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.types = dict(types or {})

    def fit(self, examples: Sequence[Example]) -> SystemValues:
        now = datetime(2024, 1, 1, tzinfo=self.zone)  # any day: only whether a value is there counts
        seen: Counter[str] = Counter()
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        kind_of: dict[str, str | None] = {}  # each distinct text read once (a big bot repeats its values)
        for example in examples:
            for entity in example.entities:
                seen[entity.type] += 1
                if entity.value not in kind_of:
                    values = find_values(entity.value, self.settings.kinds, now=now)
                    whole = [v for v in values if not entity.value[: v.start].strip()
                             and _AROUND.fullmatch(entity.value[v.end :])]
                    kind_of[entity.value] = whole[0].kind if whole else None
                kind = kind_of[entity.value]
                if kind is not None:
                    kinds[entity.type][kind] += 1
        self.types = {}
        for type_, counts in kinds.items():
            kind, count = counts.most_common(1)[0]
            if count * 2 > seen[type_]:
                self.types[type_] = SYSTEM_PREFIX + kind
        return self

    def value_types(self) -> dict[str, str]:
        return dict(self.types)

    def state(self) -> dict[str, Any]:
        return {"types": self.types}

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> SystemValues:
        types = state.get("types", {})
        if not isinstance(types, dict) or not all(isinstance(v, str) for v in types.values()):
            raise ValueError("the system types of tagger types are not a mapping of names")
        return cls(settings, types)

    def entity_types(self) -> list[str]:
        return [SYSTEM_PREFIX + kind for kind in self.settings.kinds]

    def extract(self, doc: Doc, *, now: datetime) -> list[Found]:
        # `now` in the bot's zone: "내일" is tomorrow there, and times carry its UTC offset.
        when = now.replace(tzinfo=self.zone) if now.tzinfo is None else now.astimezone(self.zone)
        return [Found(SYSTEM_PREFIX + v.kind, v.start, v.end, v.resolved, v.grain, source="system")
                for v in find_values(doc.normalized, self.settings.kinds, now=when, tokens=doc.tokens)]


class DictionarySettings(ComponentSettings):
    """``dictionary``: the bot's dictionaries; ``typos``: the types whose long values also match
    with one typo (``entities: {CITY: {typos: true}}`` in ``bot.yaml``)."""

    type: str = "dictionary.v1"
    typos: list[str] = Field(default_factory=list)


class DictionaryExtractor(Extractor):
    """Dictionary values, matched on token boundaries, longest first, resolved to the canonical form.

    ``dictionaries``: ``TYPE → {synonym's match key: canonical value}``
    (:func:`malmoi.data.read_dictionaries` makes them; its state is exactly that).
    """

    def __init__(self, settings: DictionarySettings, dictionaries: Mapping[str, Mapping[str, str]] | None = None):
        self.settings = settings
        self.dictionaries = {entity: dict(values) for entity, values in (dictionaries or {}).items()}
        typos = set(settings.typos)
        built = {entity: Dictionary(entity, synonyms={key: (canonical, 0) for key, canonical in values.items()})
                 for entity, values in self.dictionaries.items()}
        # One matcher for the types without typos, one for those with (each a hash map: see dictionary.py).
        self._matchers = [DictionaryMatcher([d for e, d in built.items() if (e in typos) == tolerant], typos=tolerant)
                          for tolerant in (False, True)]
        self._matchers = [m for m in self._matchers if len(m)]

    def entity_types(self) -> list[str]:
        return sorted(self.dictionaries)

    def extract(self, doc: Doc, *, now: datetime) -> list[Found]:
        found = [v for matcher in self._matchers for v in matcher.find(doc.normalized, doc.tokens)]
        return [Found(v.kind, v.start, v.end, v.resolved, source="dictionary") for v in found]

    def canonical(self, entity: str, text: str) -> Any:
        for matcher in self._matchers:
            value = matcher.resolve(entity, text)
            if value is not None:
                return value
        return None

    def state(self) -> dict[str, Any]:
        return {"dictionaries": self.dictionaries}

    @classmethod
    def load(cls, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray],
             context: LoadContext) -> DictionaryExtractor:
        dictionaries = state["dictionaries"]
        if not isinstance(dictionaries, dict) or not all(
                isinstance(values, dict) and all(isinstance(c, str) for c in values.values())
                for values in dictionaries.values()):
            raise ValueError("the dictionaries are not TYPE → {synonym: value} mappings of text")
        return cls(settings, dictionaries)


class PatternSettings(ComponentSettings):
    """``pattern``: ``TYPE → regular expression`` (``entities: {ORDER_ID: {pattern: ...}}``)."""

    type: str = "pattern.v1"
    patterns: dict[str, str] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
        problems: list[Problem] = []
        compile_patterns(patterns, problems)
        if problems:
            raise ValueError(problems[0].found + (f"; {problems[0].hint}" if problems[0].hint else ""))
        return patterns


class PatternExtractor(Extractor):
    """Pattern entities: every match of each type's regular expression (run with a time limit)."""

    def __init__(self, settings: PatternSettings):
        self.settings = settings
        self._patterns = compile_patterns(settings.patterns, [])

    def entity_types(self) -> list[str]:
        return sorted(self.settings.patterns)

    def extract(self, doc: Doc, *, now: datetime) -> list[Found]:
        return [Found(v.kind, v.start, v.end, v.resolved, source="pattern")
                for v in find_patterns(doc.normalized, self._patterns)]


def configured_extractors(config: BotConfig) -> list[tuple[str, Extractor]]:
    """``(registered type, part)`` of the extractors that ``config`` declares (system entities,
    dictionaries, patterns), in that order."""
    out: list[tuple[str, Extractor]] = []
    if config.system_entities:
        out.append(("system-values.v1", SystemValues(SystemValuesSettings(
            kinds=list(config.system_entities), timezone=config.timezone))))
    if config.dictionaries:
        typos = [name for name, declared in (config.entities or {}).items()
                 if declared.typos and name in config.dictionaries]
        out.append(("dictionary.v1", DictionaryExtractor(DictionarySettings(typos=typos), config.dictionaries)))
    if config.patterns:
        out.append(("pattern.v1", PatternExtractor(PatternSettings(patterns=config.patterns))))
    return out
