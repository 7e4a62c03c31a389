"""Model folders for tests.

Tests that need a model in a shape training does not make (its encoder moved or shared, other
settings) edit its model.json here, and re-write its manifest as malmoi would for its own edit:
an edit by anything else is refused when the model loads (tests/test_outputs.py). And a tiny
model2vec folder, for the static encoder's tests and the parts' contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from malmoi.outputs import seal


def edit_model_json(model_dir: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    """Apply ``edit`` to ``model_dir/model.json`` and seal the folder again; returns ``model_dir``."""
    path = model_dir / "model.json"
    meta = json.loads(path.read_text("utf-8"))
    edit(meta)
    path.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    seal(model_dir, "model")
    return model_dir


def point_encoder_at(path: Path) -> Callable[[dict[str, Any]], None]:
    """An edit of model.json (format 5) that records a referenced encoder's folder as ``path``:
    in the encoder part's reference and settings, and in the bot's settings."""

    def edit(meta: dict[str, Any]) -> None:
        encoder = meta["parts"]["encoder"]
        encoder["state"]["path"] = encoder["settings"]["path"] = str(path)
        meta["config"]["settings"]["encoder"]["path"] = str(path)

    return edit


def refer_to_encoder(path: Path) -> Callable[[dict[str, Any]], None]:
    """An edit of model.json (format 5) that makes a bundled encoder a reference to the folder ``path``:
    the model of a bot trained on a shared encoder (its ``encoder/`` folder is then left out)."""

    def edit(meta: dict[str, Any]) -> None:
        meta["parts"]["encoder"]["state"].update(bundled=False, path=str(path))

    return edit


# The vocabulary of the tiny model2vec folder: three groups of near vectors, and other words.
CITIES = ["paris", "london", "berlin", "tokyo", "seoul", "madrid", "rome", "lyon"]
DATES = ["today", "tomorrow", "tonight"]
FOODS = ["pizza", "sushi", "ramen", "tacos", "burgers"]
WORDS = ["weather", "in", "will", "it", "rain", "find", "hello", "hi", "there", "good", "morning", "hey", "thanks"]
NEEDS_PRETRAINED = "needs the `pretrained` extra: pip install 'malmoi[pretrained]'"


def static_folder(root: Path) -> Path:
    """A tiny model2vec folder (skips the test without model2vec): cities, dates and foods near their own kind."""
    model2vec = pytest.importorskip("model2vec", reason=NEEDS_PRETRAINED)
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocabulary = ["[UNK]", *CITIES, *DATES, *FOODS, *WORDS]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocabulary)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    rng = np.random.default_rng(0)
    groups = {w: g for g, words in enumerate([CITIES, DATES, FOODS]) for w in words}
    centres = rng.normal(size=(3, 32))
    vectors = np.stack(
        [rng.normal(size=32) if w not in groups else centres[groups[w]] + 0.1 * rng.normal(size=32) for w in vocabulary]
    ).astype(np.float32)
    folder = root / "tiny-static"
    model2vec.StaticModel(vectors, tokenizer, normalize=True).save_pretrained(str(folder))
    return folder
