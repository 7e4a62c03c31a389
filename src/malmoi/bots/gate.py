"""The checks a version must pass before ``malmoi promote`` moves it to production: :func:`gate`.

The same gate as ``malmoi publish --data`` (:func:`malmoi.review.check_gate`): the bot's
conversation tests (``BOT_DIR/test/conversations/*.yml``), run on the version's model with the bot
directory stored in its snapshot. A version published without its data has no tests to run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from malmoi.bots.registry import Registry

__all__ = ["gate"]


def gate(registry: Registry, bot: str, version: str) -> list[str]:
    """The failures that stop ``bot``'s ``version`` from being promoted (empty: it may go)."""
    from malmoi.model.model import Model
    from malmoi.review import check_gate

    if not any(v.version == version and v.snapshot for v in registry.versions(bot)):
        return []
    with tempfile.TemporaryDirectory(prefix="malmoi-gate-") as folder:
        bot_dir = registry.restore_snapshot(bot, version, Path(folder) / "bot")
        result = check_gate(Model.load(registry.version_dir(bot, version)), bot_dir)
        return [] if result.ok else result.reasons()
