"""Shared fixtures: a tiny Korean bot written on the fly, and a model trained on it once."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tiny_bot import write_tiny_bot


@pytest.fixture
def tiny_bot(tmp_path: Path) -> Path:
    return write_tiny_bot(tmp_path / "bot")


@pytest.fixture
def make_tiny_bot(tmp_path: Path):
    """Factory: ``make_tiny_bot(with_ood=False, settings="  intent: {...}\n", encoder="{type: bilstm}")``."""
    counter = itertools.count()
    return lambda **kwargs: write_tiny_bot(tmp_path / f"bot{next(counter)}", **kwargs)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    import malmoi

    bot = write_tiny_bot(tmp_path_factory.mktemp("tiny") / "bot")
    model = malmoi.train(bot, progress=False)
    return model.save(bot.parent / "model")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    import malmoi

    return malmoi.load(tiny_model_dir)
