"""Distinct bots without training each: a model's copy with its head weights perturbed.

For load tests and benchmarks of many bots (bench/many_bots.py): every copy is a different
artifact (its own checksum, its own answers' confidences) that loads, parses and weighs like a
trained bot of the same shape, at the cost of a file copy. The answers of such a bot mean little;
never publish one as a real bot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from malmoi.artifact import MODEL_FILE, WeightsRef, json_bytes, read_json, read_weights, weights_file, write_directory

__all__ = ["perturbed_copy"]


def perturbed_copy(model_dir: str | Path, out: str | Path, *, scale: float = 0.01, seed: int = 0) -> Path:
    """Write ``model_dir`` to ``out`` with each float weight multiplied by ``1 + scale × N(0, 1)``.

    Multiplicative noise: zeros stay zero and the large negative scores that forbid CRF
    transitions stay forbidding, so the copy answers like the original with other confidences.

    The checksums in ``model.json`` are those of the new weights, so the copy loads like any model.
    """
    model_dir, out = Path(model_dir), Path(out)
    meta = read_json(model_dir / MODEL_FILE, "a model description")
    arrays = read_weights(model_dir, WeightsRef.model_validate(meta["weights"]))
    rng = np.random.default_rng(seed)
    noisy = {}
    for name, array in arrays.items():
        if np.issubdtype(array.dtype, np.floating) and array.size:
            array = (array * (1.0 + rng.normal(0.0, scale, array.shape))).astype(array.dtype)
        noisy[name] = array
    data, ref = weights_file(noisy, meta["weights"]["file"])
    meta["weights"] = ref.model_dump(mode="json")
    files = {MODEL_FILE: json_bytes(meta), ref.file: data}
    encoder = model_dir / "encoder"
    if meta["encoder"]["bundled"]:
        files.update({f"encoder/{p.name}": p.read_bytes() for p in encoder.iterdir() if p.is_file()})
    return write_directory(out, files)


