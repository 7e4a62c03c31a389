"""Fine-tuning a sentence-transformers body on a bot's intents, within a time budget.

SetFit (Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts") fine-tunes a
sentence-transformer contrastively on pairs of a few labelled utterances, then trains a light
head on the tuned sentence vectors. Here each step sees a batch of ``intents_per_batch`` intents
with two utterances each, and the loss is the supervised contrastive loss (Khosla et al. 2020):
every utterance is pulled toward the other utterance of its intent and pushed from all the rest
of the batch. One batch of 2 B utterances holds B positive pairs and 2 B (2 B - 2) negative ones,
so it teaches as much as many SetFit pairs for one forward pass per utterance. Out-of-domain
examples join each batch as negatives only: they are pushed from every intent and pulled toward
nothing.

The word-piece embedding table (a third of MiniLM's weights) stays frozen: a few thousand
utterances cannot teach it much, and leaving it out makes every optimizer step cheaper.

Training stops when ``seconds`` have passed or after ``max_epochs`` passes over the data, so a
tiny bot does not overfit a generous budget. The number of steps therefore depends on the
machine's speed; the report says how many ran.
"""

from __future__ import annotations

import copy
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["contrastive_loss", "fine_tune"]

# Logit scale of the cosine similarities: sentence-transformers' MultipleNegativesRankingLoss
# default (a temperature of 0.05), which suits normalized sentence embeddings.
SIMILARITY_SCALE = 20.0


def contrastive_loss(embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Supervised contrastive loss of a batch ``(n, dim)``; ``labels`` < 0 are negatives only.

    For each anchor that has at least one positive (another utterance of its label), the mean
    over its positives of ``-log softmax`` of their scaled cosine among every other utterance.
    """
    unit = F.normalize(embeddings, dim=-1)
    logits = unit @ unit.T * SIMILARITY_SCALE  # (n, n)
    itself = torch.eye(len(labels), dtype=torch.bool)
    log_probabilities = logits.masked_fill(itself, float("-inf")).log_softmax(-1).masked_fill(itself, 0.0)
    positive = (labels[:, None] == labels[None, :]) & ~itself & (labels[:, None] >= 0)  # (n, n)
    count = positive.sum(1)
    anchors = count > 0
    if not anchors.any():
        return embeddings.sum() * 0.0
    per_anchor = -(log_probabilities * positive).sum(1)[anchors] / count[anchors]
    return per_anchor.mean()


_LAYER = re.compile(r"\.layers?\.(\d+)\.")  # BERT-style parameter names: encoder.layer.3.attention...


def _is_tuned(name: str, layers: int | None, depth: int) -> bool:
    """Which parameters learn: never the word-piece table; with ``layers``, only the top layers of ``depth``."""
    if "word_embeddings" in name or name.endswith("embed_tokens.weight"):
        return False
    if layers is None:
        return True
    found = _LAYER.search(name)
    return found is not None and int(found.group(1)) >= depth - layers


def fine_tune(
    model: Any,
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    seconds: float,
    max_epochs: float,
    learning_rate: float,
    intents_per_batch: int,
    layers: int | None,
    rng: np.random.Generator,
) -> tuple[Any, dict[str, Any]]:
    """A tuned copy of the SentenceTransformer ``model`` (left as it was) and a report.

    Args:
        texts: training utterances; ``labels`` their intent numbers, < 0 for out-of-domain ones.
        seconds: wall-clock budget of the tuning loop.
        max_epochs: stop after this many passes over ``texts`` even if time is left.
        learning_rate: AdamW's learning rate.
        intents_per_batch: intents per step, two utterances each.
        layers: tune only the top this many transformer layers (None: all of them).
        rng: the generator that draws the batches (the caller's, so a fit is reproducible up
            to the number of steps its budget allows).
    """
    started = time.perf_counter()
    by_intent: dict[int, list[str]] = defaultdict(list)
    outside: list[str] = []
    for text, label in zip(texts, labels):
        (by_intent[label] if label >= 0 else outside).append(text)
    pairable = sorted(label for label, rows in by_intent.items() if len(rows) >= 2)
    report: dict[str, Any] = {"steps": 0, "seconds": 0.0, "utterances": len(texts)}
    if len(pairable) < 2:  # nothing to contrast: keep the encoder as it is
        report["skipped"] = "fewer than two intents with two or more utterances"
        return model, report

    tuned = copy.deepcopy(model)
    names = [name for name, _ in tuned.named_parameters()]
    depth = 1 + max((int(m.group(1)) for m in map(_LAYER.search, names) if m), default=-1)
    for name, parameter in tuned.named_parameters():
        parameter.requires_grad_(_is_tuned(name, layers, depth))
    parameters = [p for p in tuned.parameters() if p.requires_grad]
    if not parameters:
        report["skipped"] = f"no parameter to tune (layers: {layers}, the model has {depth} numbered layers)"
        return model, report
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=0.01)
    per_batch = min(intents_per_batch, len(pairable))
    ood_per_batch = per_batch // 2 if outside else 0
    batch_size = 2 * per_batch + ood_per_batch
    max_steps = max(1, int(max_epochs * len(texts) / batch_size))
    # `preprocess` since sentence-transformers 5; `tokenize` before (deprecated since).
    prepare = getattr(tuned, "preprocess", None) or tuned.tokenize
    tuned.train()
    losses: list[float] = []
    with torch.enable_grad():
        while report["steps"] < max_steps and time.perf_counter() - started < seconds:
            chosen = rng.choice(len(pairable), per_batch, replace=False)
            batch: list[str] = []
            batch_labels: list[int] = []
            for i in chosen:
                rows = by_intent[pairable[i]]
                batch += [rows[j] for j in rng.choice(len(rows), 2, replace=False)]
                batch_labels += [int(pairable[i])] * 2
            if ood_per_batch:
                picked = rng.choice(len(outside), min(ood_per_batch, len(outside)), replace=False)
                batch += [outside[j] for j in picked]
                batch_labels += [-1] * len(picked)
            features = prepare(batch)  # word-piece ids, padded to the longest
            embeddings = tuned(features)["sentence_embedding"]  # (batch, dim)
            loss = contrastive_loss(embeddings, torch.tensor(batch_labels))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            losses.append(float(loss.item()))
            report["steps"] += 1
    tuned.eval()
    for parameter in tuned.parameters():
        parameter.requires_grad_(True)
    report["seconds"] = round(time.perf_counter() - started, 2)
    report["epochs"] = round(report["steps"] * batch_size / len(texts), 2)
    report["loss_first_last"] = [round(losses[0], 4), round(float(np.mean(losses[-10:])), 4)]
    return tuned, report
