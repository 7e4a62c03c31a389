"""Dialogue tests run on FakeModel (fake_model.py): instant, exact, no training."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlalchemy", reason="the dialogue store needs the serve extra: pip install 'malmoi[serve]'")

from fake_model import CONFIG, FakeModel


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel(CONFIG)
