"""malmoi (말모이): Korean-first task-oriented chatbots — intents, fallback detection, entities.

    >>> import malmoi
    >>> model = malmoi.train("examples/demo-bot")        # doctest: +SKIP
    >>> model.save("models/demo")                        # doctest: +SKIP
    >>> malmoi.load("models/demo").parse("내일 서울 날씨 알려줘")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from malmoi._lazy import lazy_attributes
from malmoi._version import __version__
from malmoi.data.problems import DataError, Problem
from malmoi.errors import ModelLoadError

if TYPE_CHECKING:
    from malmoi.model import Model, ParseResult, load
    from malmoi.model.model import train

# A library stays quiet unless the application configures logging.
logging.getLogger("malmoi").addHandler(logging.NullHandler())

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

# Loaded on first use, so `malmoi validate` and `import malmoi.data` don't pay for torch.
_LAZY = {
    "Model": "malmoi.model",
    "ParseResult": "malmoi.model",
    "load": "malmoi.model",
    "train": "malmoi.model.model",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
