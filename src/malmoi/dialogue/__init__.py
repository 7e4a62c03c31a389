"""Conversations: scenarios, multi-turn slot filling and durable per-user state.

    >>> from malmoi.dialogue import Dialogue, StateStore
    >>> bot = Dialogue(malmoi.load("models/demo"), store=StateStore("sqlite:///state.sqlite3"))  # doctest: +SKIP
    >>> bot.chat("user-1", "날씨 알려줘").answer                                                  # doctest: +SKIP
    '어느 지역의 날씨를 알려드릴까요?'

See docs/dialogue.md for scenarios in ``bot.yaml`` and in Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from malmoi._lazy import lazy_attributes

if TYPE_CHECKING:
    from malmoi.dialogue.engine import Dialogue
    from malmoi.dialogue.scenarios import Scenario, ScenarioError, Scenarios, Slot
    from malmoi.dialogue.state import ConversationState, Reply
    from malmoi.dialogue.store import StateStore

__all__ = [
    "ConversationState",
    "Dialogue",
    "Reply",
    "Scenario",
    "ScenarioError",
    "Scenarios",
    "Slot",
    "StateStore",
]

# Loaded on first use: the engine imports the parse result (and with it malmoi.model and torch),
# and the store needs SQLAlchemy, an optional dependency.
_LAZY = {
    "ConversationState": "malmoi.dialogue.state",
    "Dialogue": "malmoi.dialogue.engine",
    "Reply": "malmoi.dialogue.state",
    "Scenario": "malmoi.dialogue.scenarios",
    "ScenarioError": "malmoi.dialogue.scenarios",
    "Scenarios": "malmoi.dialogue.scenarios",
    "Slot": "malmoi.dialogue.scenarios",
    "StateStore": "malmoi.dialogue.store",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
