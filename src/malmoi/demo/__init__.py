"""The demo bot that ships with malmoi: weather, fine dust, travel and restaurants, in Korean.

``generate_demo_bot(out_dir)`` writes the bot directory (also ``python -m malmoi.demo.generate``);
``SAMPLE_QUESTIONS`` are questions to ask it, some about cities the data never mentions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["SAMPLE_QUESTIONS", "generate_demo_bot"]

if TYPE_CHECKING:
    from malmoi.demo.generate import SAMPLE_QUESTIONS, generate_demo_bot


def __getattr__(name: str) -> Any:
    # Imported lazily: importing `generate` here would make `python -m malmoi.demo.generate`
    # warn that the module was already in sys.modules before it ran as __main__.
    if name in __all__:
        from malmoi.demo import generate

        return getattr(generate, name)
    raise AttributeError(f"module 'malmoi.demo' has no attribute {name!r}")
