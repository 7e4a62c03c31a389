"""The public surface of malmoi.dialogue and malmoi.serve is pinned."""

import pytest

import malmoi.dialogue
import malmoi.serve


def test_dialogue_public_surface_is_pinned() -> None:
    assert sorted(malmoi.dialogue.__all__) == [
        "ConversationState", "Dialogue", "Reply", "Scenario", "ScenarioError", "Scenarios", "Slot", "StateStore",
    ]
    for name in malmoi.dialogue.__all__:
        assert hasattr(malmoi.dialogue, name)


def test_serve_public_surface_is_pinned() -> None:
    pytest.importorskip("fastapi")
    assert sorted(malmoi.serve.__all__) == ["ServeSettings", "create_app", "run"]
    for name in malmoi.serve.__all__:
        assert callable(getattr(malmoi.serve, name))
