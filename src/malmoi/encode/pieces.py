"""Pretrained model folders: a content hash, and word pieces mapped onto malmoi's tokens.

Shared by the frozen pretrained encoders (:mod:`malmoi.encode.pretrained` for sentence-transformers,
:mod:`malmoi.encode.static` for model2vec); imports neither torch nor any of their packages, so
the static encoder parses without torch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from malmoi.text.doc import Doc

__all__ = ["folder_hash", "hashed_files", "token_rows"]

# Files that do not change what the model computes: documentation and git metadata.
_NOT_HASHED_SUFFIXES = {".md", ".txt.lock"}
_NOT_HASHED_NAMES = {".gitattributes", ".gitignore"}


def hashed_files(path: Path) -> list[Path]:
    return sorted(
        f
        for f in path.rglob("*")
        if f.is_file()
        and f.name not in _NOT_HASHED_NAMES
        and f.suffix not in _NOT_HASHED_SUFFIXES
        and not any(part.startswith(".") for part in f.relative_to(path).parts)
    )


_hash_cache: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def folder_hash(path: str | Path) -> str:
    """SHA-256 over a model folder's files (relative name and content), README and git files aside.

    Kept per process by the files' names, sizes and modification times, so a second bot on the
    same folder does not read 90 MB of weights again.
    """
    path = Path(path).resolve()
    files = hashed_files(path)
    signature = tuple((str(f.relative_to(path)), (st := f.stat()).st_size, st.st_mtime_ns) for f in files)
    key = (str(path), signature)
    cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    total = hashlib.sha256()
    for f in files:
        digest = hashlib.sha256()
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        total.update(f"{f.relative_to(path).as_posix()}\0{digest.hexdigest()}\n".encode())
    _hash_cache[key] = total.hexdigest()
    return _hash_cache[key]


def token_rows(doc: Doc, pieces: np.ndarray, offsets: np.ndarray, mask: np.ndarray, sentence: np.ndarray) -> np.ndarray:
    """Word pieces → one row per malmoi token: ``[mean of the pieces that overlap it ; sentence]``.

    ``pieces`` ``(pieces, d)``, ``offsets`` ``(pieces, 2)`` character spans into ``doc.normalized``,
    ``mask`` the pieces that count, ``sentence`` ``(d,)``; returns ``(max(1, tokens), 2 d)`` float32.
    """
    real = mask & (offsets[:, 1] > offsets[:, 0])  # special tokens and padding have empty spans
    spans, vectors = offsets[real], pieces[real]
    everything = pieces[mask].mean(0) if mask.any() else np.zeros(pieces.shape[1], np.float32)
    if not doc.tokens:
        return np.concatenate([everything, sentence])[None].astype(np.float32)
    starts = np.array([t.start for t in doc.tokens])[:, None]
    ends = np.array([t.end for t in doc.tokens])[:, None]
    overlap = (spans[None, :, 0] < ends) & (spans[None, :, 1] > starts)  # (tokens, pieces)
    counts = overlap.sum(1, keepdims=True)
    words = (overlap.astype(np.float32) @ vectors) / np.maximum(counts, 1)
    # A token without pieces (cut off by max_seq_length, or only unknown pieces): the utterance's mean piece.
    words[counts[:, 0] == 0] = everything
    rows = np.concatenate([words, np.broadcast_to(sentence, words.shape)], axis=1)
    return np.ascontiguousarray(rows, dtype=np.float32)
