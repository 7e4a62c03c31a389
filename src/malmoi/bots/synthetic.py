"""Distinct bots without training each: a model's copy with its head weights perturbed.

For load tests and benchmarks of many bots (bench/many_bots.py): every copy is a different
artifact (its own checksums, its own answers' confidences) that loads, parses and weighs like a
trained bot of the same shape, at the cost of a load and a save. The answers of such a bot mean
little; never publish one as a real bot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from malmoi.model.model import Model
from malmoi.parts import LoadContext

__all__ = ["perturbed_copy", "rewritten_copy"]


def perturbed_copy(model_dir: str | Path, out: str | Path, *, scale: float = 0.01, seed: int = 0) -> Path:
    """Write ``model_dir`` to ``out`` with each float weight of its own parts (not its encoder)
    multiplied by ``1 + scale × N(0, 1)``.

    Multiplicative noise: zeros stay zero and the large negative scores that forbid CRF
    transitions stay forbidding, so the copy answers like the original with other confidences.
    """
    rng = np.random.default_rng(seed)
    return rewritten_copy(model_dir, out, lambda a: (a * (1.0 + rng.normal(0.0, scale, a.shape))).astype(a.dtype))


def rewritten_copy(model_dir: str | Path, out: str | Path, rewrite: Callable[[np.ndarray], np.ndarray]) -> Path:
    """Write ``model_dir`` to ``out`` with ``rewrite`` applied to every non-empty float array of its
    own parts (its encoder stays as it is). Each part is rebuilt from the new arrays by its own
    ``load``, and the copy saved as any model (its own checksums)."""
    model_dir = Path(model_dir)
    model = Model.load(model_dir)
    for name, part in list(model.parts.items()):
        arrays = part.arrays()
        if name == "encoder" or not arrays:
            continue
        new = {key: rewrite(a) if np.issubdtype(a.dtype, np.floating) and a.size else a for key, a in arrays.items()}
        model.parts[name] = type(part).load(part.settings, part.state(), new, LoadContext(model_dir, name))
    return model.save(out)
