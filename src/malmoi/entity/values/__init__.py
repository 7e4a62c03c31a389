"""Entity values: system entities (times, numbers, money ...), dictionaries and patterns.

- :func:`find_values` finds and resolves Korean (and digit) times, numbers, money, durations,
  ordinals, phone numbers, emails and urls, relative to a reference time.
- :mod:`malmoi.entity.values.dictionary`: entity types listed with their synonyms
  (``data/entities/CITY.csv``), matched on morpheme boundaries, resolved to the canonical form.
- :mod:`malmoi.entity.values.patterns`: entity types given by a regular expression.
- :func:`merge`: one rule for spans of the tagger, system values, dictionaries and patterns.

All of it is plain Python over Kiwi's tokens: no torch, no model.
"""

from malmoi.entity.values._find import PRIORITY, find_values
from malmoi.entity.values._value import GRAINS, SYSTEM_KINDS, Value

__all__ = ["GRAINS", "PRIORITY", "SYSTEM_KINDS", "Value", "find_values"]
