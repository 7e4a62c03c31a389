"""Bot data: load a bot directory into examples, and check it so training can't trip on it.

>>> from malmoi.data import load_bot, validate_bot
>>> for problem in validate_bot("mybot"):  # doctest: +SKIP
...     print(problem)
mybot/data/intents/weather.csv:7: error: found the tag `S-LOCATON` ...

The formats are described in docs/bot-format.md; tag schemes in :mod:`malmoi.data.tags`.
"""

from malmoi.data._loading import load_bot, load_intent_file, load_ood_file, read_intent_file, validate_bot
from malmoi.data.problems import DataError, Problem
from malmoi.data.schema import BotData, Entity, Example

__all__ = [
    "BotData",
    "DataError",
    "Entity",
    "Example",
    "Problem",
    "load_bot",
    "load_intent_file",
    "load_ood_file",
    "read_intent_file",
    "validate_bot",
]
