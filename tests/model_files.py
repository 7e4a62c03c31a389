"""Tests that need a model in a shape training does not make (its encoder moved or shared, other
settings) edit its model.json here, and re-write its manifest as malmoi would for its own edit:
an edit by anything else is refused when the model loads (tests/test_outputs.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from malmoi.outputs import seal


def edit_model_json(model_dir: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    """Apply ``edit`` to ``model_dir/model.json`` and seal the folder again; returns ``model_dir``."""
    path = model_dir / "model.json"
    meta = json.loads(path.read_text("utf-8"))
    edit(meta)
    path.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    seal(model_dir, "model")
    return model_dir
