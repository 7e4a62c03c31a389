"""Large lookup tables kept as int8, one scale per row, and turned back into float32 row by row.

A bot's two big tables are looked up, never multiplied whole: the token embedding rows
(:class:`~malmoi.featurize.hashing.CompactTable`) and the lexical n-gram rows of the intent head.
A parse reads a few dozen rows of each, so they can stay int8 in memory and on disk, a quarter of
float32, and only the rows read are scaled back. Symmetric per-row quantization bounds each value's
error by 1/254 of its row's largest magnitude; a parse sums dozens of rows, so the errors average
out (the accuracy cost is measured in docs/components.md).

The artifact stores ``NAME.q8`` (int8) and ``NAME.scale`` (float32 per row) instead of ``NAME``;
:func:`read_rows` accepts either, so float tables written by hand or by a test still load.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Int8Rows", "quantized_arrays", "read_rows"]

_LEVELS = 127.0


class Int8Rows:
    """A ``(rows, dim)`` float table as int8 values and a float32 scale per row.

    >>> table = Int8Rows.quantize(np.array([[1.0, -0.5], [0.0, 0.0]], np.float32))
    >>> table.take(np.array([0, 1])).astype(float).round(3).tolist()  # -0.5 is 63.5 steps of 1/127: off by half a step
    [[1.0, -0.504], [0.0, 0.0]]
    """

    def __init__(self, values: np.ndarray, scales: np.ndarray):
        if values.dtype != np.int8 or values.ndim != 2 or scales.shape != (len(values),):
            raise ValueError(f"int8 rows {values.shape} {values.dtype} need one scale each, got {scales.shape}")
        if not np.all(np.isfinite(scales)):
            raise ValueError("row scales must be finite")
        self.values = values
        self.scales = scales.astype(np.float32, copy=False)

    @classmethod
    def quantize(cls, table: np.ndarray) -> Int8Rows:
        table = np.asarray(table, np.float32)
        peaks = np.abs(table).max(axis=1) if table.size else np.zeros(len(table), np.float32)
        scales = np.where(peaks > 0, peaks / _LEVELS, 1.0).astype(np.float32)
        values = np.clip(np.rint(table / scales[:, None]), -_LEVELS, _LEVELS).astype(np.int8)
        return cls(values, scales)

    def take(self, index: np.ndarray) -> np.ndarray:
        """Rows ``index`` as float32, ``(len(index), dim)``."""
        return self.values[index].astype(np.float32) * self.scales[index, None]

    def dense(self) -> np.ndarray:
        return self.take(np.arange(len(self)))

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.scales.nbytes)

    def __len__(self) -> int:
        return int(self.values.shape[0])


def quantized_arrays(name: str, table: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays an artifact stores for ``table`` under ``name``."""
    rows = Int8Rows.quantize(table)
    return {f"{name}.q8": rows.values, f"{name}.scale": rows.scales}


def read_rows(arrays: dict[str, np.ndarray], name: str) -> Int8Rows | None:
    """The table ``name`` from an artifact's arrays (int8 or float), or None when it is absent."""
    if f"{name}.q8" in arrays:
        return Int8Rows(np.asarray(arrays[f"{name}.q8"]), np.asarray(arrays[f"{name}.scale"]))
    if name in arrays:
        table = np.asarray(arrays[name], np.float32)
        if table.ndim != 2:
            raise ValueError(f"{name} must be a 2-D table, got shape {table.shape}")
        return Int8Rows.quantize(table)
    return None
