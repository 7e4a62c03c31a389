"""Bots for the registry tests: the session's tiny model and copies of it with other weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from malmoi.bots.synthetic import perturbed_copy


@pytest.fixture(scope="session")
def variant_dirs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three distinct models of the tiny bot's shape: its own and two with perturbed heads."""
    root = tmp_path_factory.mktemp("variants")
    return [tiny_model_dir, *(perturbed_copy(tiny_model_dir, root / f"v{i}", scale=0.1, seed=i) for i in (1, 2))]

