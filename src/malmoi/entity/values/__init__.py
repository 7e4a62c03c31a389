"""Entity values: system entities (times, numbers, money ...), dictionaries and patterns.

- :func:`find_values` finds and resolves Korean (and digit) times, numbers, money, durations,
  ordinals, phone numbers, emails and urls, relative to a reference time.
- Dictionaries (:mod:`.dictionary`): entity types listed with their synonyms
  (``data/entities/CITY.csv``), matched on morpheme boundaries, resolved to the canonical form.
- Patterns (:mod:`.patterns`): entity types given by a regular expression.
- :func:`merge`: one rule for spans of the tagger, system values, dictionaries and patterns.
- :mod:`.duckling`: Duckling embedded as an alternative, and its test corpora.

All of it is plain Python over Kiwi's tokens: no torch, no model. docs/entities.md has the rules.
"""

from malmoi.entity.values._find import PRIORITY, find_values
from malmoi.entity.values._value import GRAINS, SYSTEM_KINDS, Value
from malmoi.entity.values.dictionary import Dictionary, DictionaryMatcher, load_dictionaries, load_dictionary
from malmoi.entity.values.merge import merge
from malmoi.entity.values.patterns import PatternEntity, compile_pattern, compile_patterns, find_patterns

__all__ = [
    "GRAINS",
    "PRIORITY",
    "SYSTEM_KINDS",
    "Dictionary",
    "DictionaryMatcher",
    "PatternEntity",
    "Value",
    "compile_pattern",
    "compile_patterns",
    "find_patterns",
    "find_values",
    "load_dictionaries",
    "load_dictionary",
    "merge",
]
