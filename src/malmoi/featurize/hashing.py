"""Hashed feature ids and the compact tables that keep only the rows training touched.

Features are strings (a word, a character n-gram) hashed into a fixed number of buckets, so a
model needs no vocabulary: any string, seen or not, has an id (Weinberger et al. 2009, "Feature
Hashing for Large Scale Multitask Learning"; fastText's n-gram buckets). Training uses a dense
table of every bucket; a saved model keeps the rows of the buckets its data used, looked up by
binary search, so its size follows the data, not the hash space.
"""

from __future__ import annotations

import zlib

import numpy as np

from malmoi.featurize.quantize import Int8Rows

__all__ = ["CompactTable", "stable_hash"]


def stable_hash(text: str) -> int:
    """CRC-32 of the UTF-8 bytes: the same in every process (Python's ``hash`` is salted)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


class CompactTable:
    """Rows of a hashed embedding table for the buckets in ``keys``; other buckets are zero.

    The rows are kept as int8 with a scale per row (:mod:`malmoi.featurize.quantize`): a lookup
    reads a few dozen of them, and a bot's table is most of its memory.

    Args:
        keys: sorted, distinct bucket ids (int64).
        rows: one row per key, ``(len(keys), dim)``: float, or already :class:`Int8Rows`.

    >>> table = CompactTable.from_dense(np.array([[0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]))
    >>> table.keys.tolist(), table.lookup(np.array([1, 2])).astype(float).round(2).tolist()
    ([1], [[1.01, 2.0], [0.0, 0.0]])
    """

    def __init__(self, keys: np.ndarray, rows: np.ndarray | Int8Rows):
        kept = rows if isinstance(rows, Int8Rows) else Int8Rows.quantize(np.asarray(rows, np.float32))
        if keys.ndim != 1 or len(kept.shape) != 2 or len(keys) != len(kept):
            raise ValueError(f"keys {keys.shape} and rows {kept.shape} do not match")
        self.keys = keys.astype(np.int64, copy=False)
        # One zero row after the kept ones stands for every bucket that was never trained.
        self.rows = Int8Rows(
            np.concatenate([kept.values, np.zeros((1, kept.shape[1]), np.int8)]),
            np.concatenate([kept.scales, np.ones(1, np.float32)]),
        )

    @classmethod
    def from_dense(cls, table: np.ndarray) -> CompactTable:
        keys = np.flatnonzero(np.abs(table).sum(1))
        return cls(keys, table[keys])

    @property
    def dim(self) -> int:
        return self.rows.shape[1]

    @property
    def kept_rows(self) -> Int8Rows:
        """The rows of ``keys``, without the zero row."""
        return Int8Rows(self.rows.values[:-1], self.rows.scales[:-1])

    def row_index(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id in ``rows``; ``len(keys)`` (the zero row) for unknown ids."""
        where = np.searchsorted(self.keys, ids)
        where = np.minimum(where, len(self.keys) - 1) if len(self.keys) else np.zeros_like(where)
        found = self.keys[where] == ids if len(self.keys) else np.zeros(len(ids), bool)
        return np.where(found, where, len(self.keys))

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        return self.rows.take(self.row_index(ids))

    def dense(self, num_buckets: int) -> np.ndarray:
        """The full table again (for training on from a saved model)."""
        out = np.zeros((num_buckets, self.dim), np.float32)
        out[self.keys] = self.kept_rows.dense()
        return out

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.rows.nbytes)
