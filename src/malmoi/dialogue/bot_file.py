"""What a bot says, read from a bot directory's ``bot.yaml`` at serve time (docs/dialogue.md).

A trained model keeps what it learned and the settings it learned with, and a copy of the
``bot.yaml`` dialogue as it was at training: the default. A server given a bot directory
(``malmoi serve MODEL --bot-dir BOT_DIR``), or a registry version published with its
``bot.yaml`` (``malmoi publish --data``, ``--config-only``), answers with that file's scenarios
and dialogue instead (:data:`malmoi.settings.DIALOGUE_FIELDS`); the model's learned settings
stay as they were trained. The dialogue is checked against the model when the bot is loaded:
an intent or entity type the model does not know stops the start in one line.
"""

from __future__ import annotations

from pathlib import Path

from malmoi.data._config import read_config
from malmoi.data.problems import Problem
from malmoi.dialogue.scenarios import ScenarioError
from malmoi.settings import BotConfig

__all__ = ["BOT_FILE", "dialogue_config", "read_bot_file"]

BOT_FILE = "bot.yaml"


def read_bot_file(folder: str | Path) -> BotConfig:
    """The ``bot.yaml`` of ``folder`` (a bot directory, or a registry version; or the file itself), validated.

    Raises:
        ScenarioError: the file is missing or wrong, in one line naming the file, the line and the fix.
    """
    folder = Path(folder)
    if folder.name == BOT_FILE and folder.is_file():
        folder = folder.parent
    problems: list[Problem] = []
    config, _ = read_config(folder, problems)
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more: `malmoi validate {folder}` lists them)" if len(errors) > 1 else ""
        raise ScenarioError(" ".join(str(errors[0]).split()) + more)
    return config


def dialogue_config(model_config: BotConfig, folder: str | Path | None) -> BotConfig:
    """``model_config`` answering with the dialogue of ``folder``'s ``bot.yaml`` (or of that file);
    unchanged when ``folder`` is None (the dialogue saved with the model at training)."""
    if folder is None:
        return model_config
    return model_config.with_dialogue_of(read_bot_file(folder))
