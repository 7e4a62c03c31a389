"""malmoi (말모이): Korean-first task-oriented chatbots — intents, fallback detection, entities.

    >>> import malmoi
    >>> model = malmoi.train("examples/demo-bot")        # doctest: +SKIP
    >>> model.save("models/demo")                        # doctest: +SKIP
    >>> malmoi.load("models/demo").parse("내일 서울 날씨 알려줘")  # doctest: +SKIP
"""

from malmoi._version import __version__
from malmoi.data.problems import DataError, Problem
from malmoi.model import Model, ModelLoadError, ParseResult, load
from malmoi.model.training import train

__all__ = [
    "DataError",
    "Model",
    "ModelLoadError",
    "ParseResult",
    "Problem",
    "__version__",
    "load",
    "train",
]
