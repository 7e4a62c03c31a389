"""The joint network: shared token embeddings and encoder, an intent head and a CRF tagger.

    token ids ──EmbeddingBag(word + char n-grams)──┐
    pos ids ──Embedding────────────────────────────┴─+─► encoder ─► token features
        token features ──max+mean pool──► sentence vector ──► intent loss / nearest class centre
        token features ──linear──► tag emissions ──► CRF (constrained decoding)
        sentence vector (no gradient) ──linear──► a per-utterance bias on the tag emissions (optional)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from malmoi.encode.encoders import build_encoder
from malmoi.entity.crf import CRF
from malmoi.intent.losses import IntentLoss, build_loss
from malmoi.settings import Settings


class Batch:
    """Padded tensors for a list of tokenized utterances (see ``model.batching``)."""

    def __init__(
        self,
        bag_ids: torch.Tensor,
        bag_offsets: torch.Tensor,
        pos_ids: torch.Tensor,
        mask: torch.Tensor,
        token_index: torch.Tensor,
    ):
        self.bag_ids = bag_ids  # (total ids,) every token's word + n-gram ids, concatenated
        self.bag_offsets = bag_offsets  # (total tokens,) where each token's ids start
        self.pos_ids = pos_ids  # (batch, tokens)
        self.mask = mask  # (batch, tokens) True for real tokens
        self.token_index = token_index  # (total tokens,) flat position of each token in (batch*tokens)


class JointNetwork(nn.Module):
    def __init__(
        self,
        settings: Settings,
        *,
        num_embeddings: int,
        num_pos: int,
        num_intents: int,
        tags: list[str],
    ):
        super().__init__()
        dim = settings.encoder.dim
        # Sparse gradients: a step touches only the rows of the tokens in the batch, so the
        # optimizer's cost does not grow with the (large) n-gram hash table.
        self.embed = nn.EmbeddingBag(num_embeddings, dim, mode="mean", sparse=True)
        # Zero rows for n-grams never seen in training: an unseen n-gram then adds nothing,
        # instead of random noise, and the saved model stores only the rows that were learned.
        nn.init.zeros_(self.embed.weight)
        self.pos_embed = nn.Embedding(num_pos, dim, padding_idx=0)
        self.dropout = nn.Dropout(settings.encoder.dropout)
        self.encoder = build_encoder(settings.encoder)
        self.project = nn.Linear(2 * dim, dim)
        intent = settings.intent
        # The loss owns the class centres the distance classifier retrieves against.
        self.intent_loss: IntentLoss = build_loss(
            intent.loss, dim, num_intents, scale=intent.scale, margin=intent.margin,
            weight=intent.centre_weight, focal_gamma=intent.focal_gamma,
            label_smoothing=intent.label_smoothing,
        )
        self.emissions = nn.Linear(dim, len(tags))
        # settings.entity.intent_tag_bias: a bias on each tag from the sentence vector, the same
        # for every token of an utterance (which entity types an utterance holds depends on its
        # intent). Detached, so the tagging loss cannot bend the space the intent centres live in:
        # undetached, SNIPS intent accuracy fell from 97.7 to 96.6 % (docs/entities.md).
        self.sentence_tags = nn.Linear(dim, len(tags), bias=False) if settings.entity.intent_tag_bias else None
        self.use_crf = settings.entity.crf
        self.crf = CRF(tags, settings.entity.scheme)

    def token_vectors(self, batch: Batch) -> torch.Tensor:
        """Each token's input vector: word + n-gram embedding plus part of speech (batch, tokens, dim)."""
        batch_size, length = batch.mask.shape
        flat = self.embed(batch.bag_ids, batch.bag_offsets)  # (total tokens, dim)
        tokens = flat.new_zeros(batch_size * length, flat.shape[1])
        tokens[batch.token_index] = flat
        return tokens.view(batch_size, length, -1) + self.pos_embed(batch.pos_ids)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the sentence vectors (batch, dim) and tag emissions (batch, tokens, tags)."""
        x = self.token_vectors(batch)  # (batch, tokens, dim)
        h = self.encoder(self.dropout(x), batch.mask)  # (batch, tokens, dim)
        neg_inf = torch.finfo(h.dtype).min
        pooled_max = h.masked_fill(~batch.mask.unsqueeze(-1), neg_inf).max(1).values  # (batch, dim)
        pooled_mean = h.sum(1) / batch.mask.sum(1, keepdim=True).clamp(min=1)  # (batch, dim)
        sentence = self.project(torch.cat([pooled_max, pooled_mean], -1))  # (batch, dim)
        emissions = self.emissions(h)  # (batch, tokens, tags)
        if self.sentence_tags is not None:
            emissions = emissions + self.sentence_tags(sentence.detach()).unsqueeze(1)
        return sentence, emissions

    def entity_loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.use_crf:
            return self.crf.neg_log_likelihood(emissions, tags, mask)
        return F.cross_entropy(emissions[mask], tags[mask])
