"""The checks a version must pass before ``malmoi promote`` moves it to production: :func:`gate`.

The conversation tests (``BOT_DIR/test/conversations/*.yml``) are another module's: when a
module ``malmoi.conversations`` exists and has ``gate(model_dir, bot_dir) -> list[str]`` (the
failures, each one line; ``bot_dir`` is None for a version published without its data), promote
runs it on the version; until then nothing is run and every promotion passes.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from malmoi.bots.registry import Registry

__all__ = ["GATE_MODULE", "gate"]

GATE_MODULE = "malmoi.conversations"


def gate(registry: Registry, bot: str, version: str) -> list[str]:
    """The failures that stop ``bot``'s ``version`` from being promoted (empty: it may go)."""
    try:
        module = importlib.import_module(GATE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != GATE_MODULE:
            raise  # the module exists but cannot import what it needs: a bug to see, not a pass
        return []
    check = getattr(module, "gate", None)
    if check is None:
        return []
    model_dir = registry.version_dir(bot, version)
    if not any(v.version == version and v.snapshot for v in registry.versions(bot)):
        return [str(failure) for failure in check(model_dir, None)]
    with tempfile.TemporaryDirectory(prefix="malmoi-gate-") as folder:
        bot_dir = registry.restore_snapshot(bot, version, Path(folder) / "bot")
        return [str(failure) for failure in check(model_dir, bot_dir)]
