"""Parsing without torch: numpy twins of the from-scratch encoder (and what it shares with
training: turning tokens into hashed piece ids).

On a short utterance torch's fixed cost per operation is most of a millisecond; numpy's is a few
microseconds. The torch modules (:mod:`malmoi.encode.embedding`, :mod:`malmoi.encode.encoders`)
export their weights into these classes, and a test checks that both give the same vectors.
Nothing here imports torch, so a server that only parses never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from malmoi.encode.runtime import ArtifactEncoder
from malmoi.featurize.hashing import CompactTable, stable_hash
from malmoi.featurize.quantize import read_rows
from malmoi.text.doc import Doc
from malmoi.text.morpheme_vectors import DIM as MORPHEME_DIM
from malmoi.text.morpheme_vectors import morpheme_vectors
from malmoi.text.morpheme_vectors import version as morpheme_vectors_version
from malmoi.text.tokenize import Token

__all__ = ["CNNInference", "CNNRuntime", "EmbeddingInference", "TokenFeaturizer", "TokenInputs", "token_pieces"]

_CACHE_LIMIT = 200_000  # bounded: a server sees unboundedly many distinct tokens
LAYER_NORM_EPS = 1e-5


def token_pieces(token: Token) -> list[str]:
    """The strings a token is embedded from: its lowercased word, base forms and 1-3-grams."""
    word = token.text.lower()
    marked = f"<{word}>"
    pieces = ["w:" + word]
    if token.form:
        pieces += ["f:" + f for f in token.form.lower().split("+") if f]
    pieces += [
        "c:" + marked[i : i + n]
        for n in (1, 2, 3)
        for i in range(len(marked) - n + 1)
        if marked[i : i + n] not in ("<", ">")
    ]
    return pieces


@dataclass
class TokenInputs:
    """One utterance: each token's hashed piece ids, part-of-speech id and, for Korean, its
    pretrained morpheme vector (``(tokens, morpheme_vectors.DIM)``)."""

    piece_ids: list[list[int]]
    pos_ids: list[int]
    morpheme_vectors: np.ndarray | None = None


class TokenFeaturizer:
    """Token → piece ids, part-of-speech id and morpheme vector; shared by the torch and numpy paths.

    ``morphemes``: whether to add Kiwi's pretrained morpheme vectors
    (:mod:`malmoi.text.morpheme_vectors`).
    """

    def __init__(self, buckets: int, pos_tags: list[str], morphemes: bool = False):
        self.buckets = buckets
        self.pos_tags = pos_tags
        self.morphemes = morphemes
        self._pos_index = {p: i for i, p in enumerate(pos_tags)}
        self._cache: dict[tuple[str, str], list[int]] = {}

    def __call__(self, doc: Doc) -> TokenInputs:
        if not doc.tokens:
            # An utterance with no tokens still gets one position, so pooling and the CRF have a row.
            return TokenInputs([[0]], [0], np.zeros((1, MORPHEME_DIM), np.float32) if self.morphemes else None)
        vectors = None
        if self.morphemes:
            table = morpheme_vectors()
            vectors = np.stack([table.token_vector(t.morphemes) for t in doc.tokens]).astype(np.float32)
        return TokenInputs([self.piece_ids(t) for t in doc.tokens], [self.pos_id(t.pos) for t in doc.tokens], vectors)

    def pos_id(self, pos: str) -> int:
        return self._pos_index.get(pos, 1)

    def piece_ids(self, token: Token) -> list[int]:
        key = (token.text, token.form)
        ids = self._cache.get(key)
        if ids is None:
            ids = [stable_hash(p) % self.buckets for p in token_pieces(token)]
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = ids
        return ids


def compact_table(arrays: dict[str, np.ndarray], prefix: str) -> CompactTable:
    """The token table of an exported encoder: ``keys`` and int8 ``rows`` (float rows load too)."""
    rows = read_rows(arrays, f"{prefix}rows")
    if rows is None:
        raise KeyError(f"{prefix}rows")
    return CompactTable(np.asarray(arrays[f"{prefix}keys"]), rows)


class EmbeddingInference:
    """The numpy twin of :class:`TokenEmbedding` for parsing: the same vectors, no torch."""

    def __init__(self, state: dict[str, object], arrays: dict[str, np.ndarray], prefix: str):
        pos_tags = state["pos_tags"]
        buckets = state["buckets"]
        if not isinstance(pos_tags, list) or not isinstance(buckets, int):
            raise ValueError("the token embedding needs a list of pos_tags and a number of buckets")
        trained_with = state.get("morpheme_vectors")
        if trained_with is not None and trained_with != morpheme_vectors_version():
            raise ValueError(
                f"the encoder was trained on the morpheme vectors of {trained_with}, and this machine has "
                f"{morpheme_vectors_version()}; install that kiwipiepy version or train the model again"
            )
        self.featurizer = TokenFeaturizer(buckets, [str(p) for p in pos_tags], morphemes=trained_with is not None)
        self.table = compact_table(arrays, prefix)
        self.pos = np.asarray(arrays[f"{prefix}pos"], np.float32)
        if self.pos.shape != (len(pos_tags), self.table.dim):
            raise ValueError(
                f"part-of-speech table {self.pos.shape} does not match {len(pos_tags)} tags of dim {self.table.dim}"
            )
        self.morphemes = None
        # Training's morphemes, already projected: (sorted ids, (ids, dim) rows).
        self.seen_morphemes: tuple[np.ndarray, np.ndarray] | None = None
        if trained_with is not None:
            self.morphemes = np.ascontiguousarray(np.asarray(arrays[f"{prefix}morphemes"], np.float32).T)  # (DIM, dim)
            if self.morphemes.shape != (MORPHEME_DIM, self.table.dim):
                raise ValueError(f"morpheme projection {self.morphemes.shape} does not fit dim {self.table.dim}")
            if f"{prefix}morpheme_keys" in arrays:
                keys = np.asarray(arrays[f"{prefix}morpheme_keys"], np.int64)
                rows = np.asarray(arrays[f"{prefix}morpheme_rows"], np.float32)
                if keys.ndim != 1 or rows.shape != (len(keys), self.table.dim) or np.any(keys[1:] <= keys[:-1]):
                    raise ValueError(
                        f"morpheme rows {rows.shape} do not fit {keys.shape} sorted ids of dim {self.table.dim}"
                    )
                self.seen_morphemes = (keys, rows)
        # A token's input vector depends on the token alone: chat traffic repeats tokens, so
        # keep the vectors of the ones seen (bounded, like the piece ids).
        self._vectors: dict[tuple[str, str, str], np.ndarray] = {}

    def __call__(self, doc: Doc) -> np.ndarray:
        if not doc.tokens:
            return self._compute(self.featurizer(doc))
        cache = self._vectors
        keys = [(token.text, token.form, token.pos) for token in doc.tokens]
        vectors = [cache.get(key) for key in keys]
        missing = [i for i, vector in enumerate(vectors) if vector is None]
        if missing:
            # The tokens not seen before, in one pass: numpy's cost is per call, not per row.
            tokens = [doc.tokens[i] for i in missing]
            computed = self._compute(
                TokenInputs(
                    [self.featurizer.piece_ids(token) for token in tokens],
                    [self.featurizer.pos_id(token.pos) for token in tokens],
                )
            )
            if self.morphemes is not None:
                computed += self._morpheme_part(tokens)
            for row, i in enumerate(missing):
                vectors[i] = computed[row]
                if len(cache) < _CACHE_LIMIT:
                    cache[keys[i]] = computed[row]
        return np.stack(vectors)  # type: ignore[arg-type]

    def _morpheme_part(self, tokens: list[Token]) -> np.ndarray:
        """``(tokens, dim)``: the projected mean vector of each token's morphemes, from the training
        morphemes' rows when it has only those, else recovered from Kiwi (slow the first time)."""
        assert self.morphemes is not None
        out = np.zeros((len(tokens), self.morphemes.shape[1]), np.float32)
        others = []
        for row, token in enumerate(tokens):
            if not token.morphemes:
                continue
            if self.seen_morphemes is not None:
                keys, rows = self.seen_morphemes
                ids = np.asarray(token.morphemes, np.int64)
                where = np.minimum(np.searchsorted(keys, ids), len(keys) - 1)
                if np.all(keys[where] == ids):
                    out[row] = rows[where].mean(0)
                    continue
            others.append(row)
        if others:
            table = morpheme_vectors()
            vectors = np.stack([table.token_vector(tokens[row].morphemes) for row in others]).astype(np.float32)
            out[others] = vectors @ self.morphemes
        return out

    def _compute(self, inputs: TokenInputs) -> np.ndarray:
        lengths = [len(ids) for ids in inputs.piece_ids]
        rows = self.table.lookup(np.fromiter((i for ids in inputs.piece_ids for i in ids), np.int64, sum(lengths)))
        starts = np.cumsum([0, *lengths[:-1]])
        means = np.add.reduceat(rows, starts, axis=0) / np.asarray(lengths, np.float32)[:, None]  # (tokens, dim)
        vectors = means + self.pos[inputs.pos_ids]
        if self.morphemes is not None and inputs.morpheme_vectors is not None:
            vectors += inputs.morpheme_vectors @ self.morphemes
        return vectors


class CNNInference:
    """:class:`~malmoi.encode.encoders.CNNEncoder` in numpy: one utterance → ``(tokens, dim)`` vectors."""

    def __init__(self, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray]):
        self.embed = EmbeddingInference(state, arrays, "embedding.")
        self.layers = []
        for i in range(settings.layers):
            weight = np.asarray(arrays[f"convs.{i}.weight"], np.float32)  # (out, in, kernel)
            out_dim, in_dim, kernel = weight.shape
            # (kernel * in, out): row (j, i) multiplies input channel i at offset j of the window.
            unfolded = np.ascontiguousarray(weight.transpose(2, 1, 0).reshape(kernel * in_dim, out_dim))
            self.layers.append(
                (
                    kernel,
                    unfolded,
                    np.asarray(arrays[f"convs.{i}.bias"], np.float32),
                    np.asarray(arrays[f"norms.{i}.weight"], np.float32),
                    np.asarray(arrays[f"norms.{i}.bias"], np.float32),
                )
            )

    def __call__(self, doc: Doc) -> np.ndarray:
        x = self.embed(doc)  # (tokens, dim)
        length, dim = x.shape
        for kernel, unfolded, bias, gain, shift in self.layers:
            pad = kernel // 2
            padded = np.zeros((length + 2 * pad, dim), np.float32)
            padded[pad : pad + length] = x
            # Each row of `windows` is `kernel` consecutive tokens side by side: one matrix
            # product does the whole convolution (numpy's cost here is per call, not per flop).
            # (A read-only view straight on the buffer: as_strided costs more than the product.)
            windows = np.ndarray((length, kernel * dim), np.float32, padded, 0, (padded.strides[0], padded.itemsize))
            h = windows @ unfolded
            h += bias
            np.maximum(h, 0.0, out=h)
            h += x
            x = _layer_norm(h, gain, shift)
        return x


class CNNRuntime(ArtifactEncoder):
    """``cnn.v1``'s part: the saved encoder, parsing with :class:`CNNInference` instead of torch."""

    def _twin(self, settings: Any, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> CNNInference:
        return CNNInference(settings, state, arrays)


def _layer_norm(x: np.ndarray, gain: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """torch's LayerNorm over the last axis, in few numpy calls (``mean`` alone costs 12 µs)."""
    scale = np.float32(1.0 / x.shape[-1])
    centred = x - x.sum(-1, keepdims=True) * scale
    spread = np.square(centred).sum(-1, keepdims=True)
    spread *= scale
    spread += np.float32(LAYER_NORM_EPS)
    np.sqrt(spread, out=spread)
    centred /= spread
    centred *= gain
    centred += shift
    return centred
