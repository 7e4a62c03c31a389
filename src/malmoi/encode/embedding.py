"""Token input vectors learned from scratch: hashed words, base forms and character n-grams.

Each token is the mean of the embeddings of its hashed pieces, plus a part-of-speech embedding.
Hashed character 1-3-grams give every token a vector, so a city or dish never seen in training
is still represented by the pieces it shares with seen ones (Bojanowski et al. 2017, "Enriching
Word Vectors with Subword Information"); a Korean token also brings its morphemes' base forms
(``알려`` → ``알리``), so inflected forms of one verb meet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from malmoi.encode.inference import TokenFeaturizer, TokenInputs, compact_table
from malmoi.featurize.hashing import CompactTable
from malmoi.text.doc import Doc
from malmoi.text.morpheme_vectors import DIM as MORPHEME_DIM
from malmoi.text.morpheme_vectors import version as morpheme_vectors_version

__all__ = ["TokenBatch", "TokenEmbedding", "collate_tokens"]

PAD, UNKNOWN = "<pad>", "<unk>"


@dataclass
class TokenBatch:
    """Padded tensors for a batch of :class:`TokenInputs`."""

    bag_ids: torch.Tensor  # (total pieces,) every token's piece ids, concatenated
    bag_offsets: torch.Tensor  # (total tokens,) where each token's pieces start
    token_index: torch.Tensor  # (total tokens,) flat position of each token in (batch * tokens)
    pos_ids: torch.Tensor  # (batch, tokens)
    mask: torch.Tensor  # (batch, tokens) True for real tokens
    morpheme_vectors: torch.Tensor | None = None  # (batch, tokens, morpheme_vectors.DIM)


def collate_tokens(items: Sequence[TokenInputs]) -> TokenBatch:
    length = max(len(item.piece_ids) for item in items)
    bag_ids: list[int] = []
    bag_offsets: list[int] = []
    token_index: list[int] = []
    pos = torch.zeros(len(items), length, dtype=torch.long)
    mask = torch.zeros(len(items), length, dtype=torch.bool)
    with_morphemes = items[0].morpheme_vectors is not None
    morphemes = np.zeros((len(items), length, MORPHEME_DIM), np.float32) if with_morphemes else None
    for row, item in enumerate(items):
        for col, ids in enumerate(item.piece_ids):
            bag_offsets.append(len(bag_ids))
            bag_ids.extend(ids)
            token_index.append(row * length + col)
        pos[row, : len(item.pos_ids)] = torch.tensor(item.pos_ids, dtype=torch.long)
        mask[row, : len(item.piece_ids)] = True
        if morphemes is not None and item.morpheme_vectors is not None:
            morphemes[row, : len(item.morpheme_vectors)] = item.morpheme_vectors
    return TokenBatch(
        torch.tensor(bag_ids, dtype=torch.long),
        torch.tensor(bag_offsets, dtype=torch.long),
        torch.tensor(token_index, dtype=torch.long),
        pos,
        mask,
        torch.from_numpy(morphemes) if morphemes is not None else None,
    )


class TokenEmbedding(nn.Module):
    """Hashed pieces (+ pretrained morpheme vectors) → token input vectors ``(batch, tokens, dim)``.

    ``morpheme_vectors``: add a learned projection of Kiwi's morpheme vectors when the training
    text has Kiwi morphemes (Korean); a bot in another language ignores it.
    """

    def __init__(
        self, dim: int, buckets: int, pos_tags: Sequence[str] = (PAD, UNKNOWN), *, morpheme_vectors: bool = False
    ):
        super().__init__()
        self.buckets = buckets
        self.want_morphemes = morpheme_vectors
        # Sparse gradients: a step touches only the rows of the pieces in the batch, so the
        # optimizer's cost does not grow with the hash space.
        self.pieces = nn.EmbeddingBag(buckets, dim, mode="mean", sparse=True)
        # Zero rows for pieces never seen in training: an unseen piece then adds nothing instead
        # of random noise, and a saved model keeps only the rows that were learned.
        nn.init.zeros_(self.pieces.weight)
        self.morphemes: nn.Linear | None = None
        self.set_vocabulary(list(pos_tags), False)

    def set_vocabulary(self, pos_tags: list[str], morphemes: bool) -> None:
        self.featurizer = TokenFeaturizer(self.buckets, pos_tags, morphemes=morphemes)
        self.pos = nn.Embedding(len(pos_tags), self.pieces.embedding_dim, padding_idx=0)
        self.morphemes = nn.Linear(MORPHEME_DIM, self.pieces.embedding_dim, bias=False) if morphemes else None

    def initialize(self, docs: Sequence[Doc]) -> None:
        korean = self.want_morphemes and any(t.morphemes for d in docs for t in d.tokens)
        self.set_vocabulary([PAD, UNKNOWN, *sorted({t.pos for d in docs for t in d.tokens})], korean)
        # The morphemes training saw: their projected vectors are saved, so that parsing reads them
        # instead of recovering each from Kiwi on first sight (encode.inference.EmbeddingInference).
        self.morpheme_ids = sorted({m for d in docs for t in d.tokens for m in t.morphemes}) if korean else []

    def forward(self, batch: TokenBatch) -> torch.Tensor:
        batch_size, length = batch.mask.shape
        flat = self.pieces(batch.bag_ids, batch.bag_offsets)  # (total tokens, dim)
        tokens = flat.new_zeros(batch_size * length, flat.shape[1])
        tokens[batch.token_index] = flat
        vectors = tokens.view(batch_size, length, -1) + self.pos(batch.pos_ids)  # (batch, tokens, dim)
        if self.morphemes is not None and batch.morpheme_vectors is not None:
            vectors = vectors + self.morphemes(batch.morpheme_vectors)
        return vectors

    def export(self, prefix: str) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        table = CompactTable.from_dense(self.pieces.weight.detach().numpy())
        kept = table.kept_rows
        arrays = {
            f"{prefix}keys": table.keys,
            f"{prefix}rows.q8": kept.values,
            f"{prefix}rows.scale": kept.scales,
            f"{prefix}pos": self.pos.weight.detach().numpy(),
        }
        if self.morphemes is not None:
            arrays[f"{prefix}morphemes"] = self.morphemes.weight.detach().numpy()  # (dim, DIM)
            arrays.update(_seen_morphemes(prefix, getattr(self, "morpheme_ids", []), arrays[f"{prefix}morphemes"]))
        state = {
            "pos_tags": self.featurizer.pos_tags,
            "buckets": self.buckets,
            "morpheme_vectors": morpheme_vectors_version() if self.morphemes is not None else None,
        }
        return state, arrays

    def load_export(self, prefix: str, state: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
        pos_tags = state["pos_tags"]
        assert isinstance(pos_tags, list)
        self.set_vocabulary([str(p) for p in pos_tags], state.get("morpheme_vectors") is not None)
        table = compact_table(arrays, prefix)
        with torch.no_grad():
            self.pieces.weight.copy_(torch.from_numpy(table.dense(self.buckets)))
            self.pos.weight.copy_(torch.from_numpy(np.array(arrays[f"{prefix}pos"])))
            if self.morphemes is not None:
                self.morphemes.weight.copy_(torch.from_numpy(np.array(arrays[f"{prefix}morphemes"])))



def _seen_morphemes(prefix: str, ids: Sequence[int], projection: np.ndarray) -> dict[str, np.ndarray]:
    """Each training morpheme's vector times the learned projection, ``(morphemes, dim)`` float32.

    Recovering a morpheme's vector costs 320 calls into Kiwi (about 0.1 ms); a parse of the Kochat
    demo met one for most utterances, and this table, 0.8 MB there, answers nearly all of them.
    Float, not int8: the parsing side must give the training side's token vectors.
    """
    if not ids:
        return {}
    from malmoi.text.morpheme_vectors import morpheme_vectors

    table = morpheme_vectors()
    vectors = np.stack([table.vector(i) for i in ids]).astype(np.float32)  # (morphemes, DIM)
    return {
        f"{prefix}morpheme_keys": np.asarray(ids, np.int64),
        f"{prefix}morpheme_rows": (vectors @ projection.T).astype(np.float32),
    }
