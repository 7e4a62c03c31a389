"""Training: bot data in, a ``Model`` out.

One network learns intents and entities together. Out-of-domain examples, when the bot
has them, take part twice: during training they are pushed away from every class centre
(outlier exposure, Hendrycks et al. 2019: their target is the uniform distribution over
intents), and a held-out share of them calibrates the fallback threshold.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from malmoi.data import load_bot
from malmoi.data.schema import BotData, Example
from malmoi.encode.features import TokenFeaturizer
from malmoi.entity.crf import viterbi
from malmoi.evaluate import span_prf
from malmoi.intent.fallback import choose_threshold
from malmoi.intent.heads import DistanceClassifier
from malmoi.model.model import Model
from malmoi.model.network import JointNetwork
from malmoi.model.pipeline import Encoded, collate, encode_tokens
from malmoi.settings import BotConfig, IntentSettings
from malmoi.text import Token, entities_to_tags, get_tokenizer, split_at, tags_to_entities

logger = logging.getLogger("malmoi")

_OOD = -1  # intent label of out-of-domain examples
_OUTLIER_WEIGHT = 0.5  # weight of the outlier-exposure term relative to the intent loss


@dataclass
class _Item:
    example: Example
    tokens: list[Token]
    tags: list[str]
    intent: int
    encoded: Encoded | None = None
    tag_ids: list[int] | None = None


def tag_labels(entity_types: Sequence[str], scheme: str) -> list[str]:
    prefixes = "BIES" if scheme == "BIOES" else "BI"
    return ["O"] + [f"{p}-{t}" for t in sorted(entity_types) for p in prefixes]


def _prepare(examples: Sequence[Example], intents: dict[str, int], language: str, scheme: str, max_tokens: int) -> list[_Item]:
    tokenizer = get_tokenizer(language)
    items = []
    for ex in examples:
        boundaries = {b for e in ex.entities for b in (e.start, e.end)}
        tokens = split_at(tokenizer.tokenize(ex.text), ex.text, boundaries)[:max_tokens]
        tags = entities_to_tags(tokens, list(ex.entities), scheme)
        intent = _OOD if ex.intent is None else intents[ex.intent]
        items.append(_Item(ex, tokens, tags, intent))
    return items


def _split(items: list[_Item], fraction: float, rng: random.Random) -> tuple[list[_Item], list[_Item]]:
    """Stratified split: each intent (and the out-of-domain group) keeps ``fraction`` for validation."""
    if fraction <= 0:
        return items, []
    groups: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        groups[item.intent].append(item)
    train, valid = [], []
    for key in sorted(groups):
        group = groups[key][:]
        rng.shuffle(group)
        n_valid = max(1, round(len(group) * fraction)) if len(group) >= 2 else 0
        valid += group[:n_valid]
        train += group[n_valid:]
    return train, valid


def train(bot: str | Path | tuple[BotConfig, BotData], *, progress: bool = True) -> Model:
    """Train a model from a bot directory (or an already loaded ``(config, data)`` pair).

    Raises ``malmoi.data.DataError`` listing every problem when the data is invalid.
    """
    config, data = load_bot(bot) if isinstance(bot, (str, Path)) else bot
    settings = config.settings
    training = settings.training
    started = time.perf_counter()
    rng = random.Random(training.seed)
    torch.manual_seed(training.seed)

    intents = data.intents
    intent_index = {name: i for i, name in enumerate(intents)}
    tags = tag_labels(data.entity_types, settings.entity.scheme)
    tag_index = {t: i for i, t in enumerate(tags)}
    prep = lambda exs: _prepare(exs, intent_index, config.language, settings.entity.scheme, training.max_tokens)  # noqa: E731
    train_items, valid_items = _split(prep(data.examples), training.validation_split, rng)
    train_ood, valid_ood = _split(prep(data.ood), training.validation_split, rng)
    train_items += train_ood

    featurizer = TokenFeaturizer.fit(
        ([t.text for t in it.tokens] for it in train_items),
        ([t.pos for t in it.tokens] for it in train_items),
        hash_buckets=settings.encoder.hash_buckets,
        min_count=settings.encoder.min_token_count,
    )
    for item in (*train_items, *valid_items, *valid_ood):
        item.encoded = encode_tokens(item.tokens, featurizer)
        item.tag_ids = [tag_index[t] for t in item.tags]

    network = JointNetwork(
        settings,
        num_embeddings=featurizer.num_embeddings,
        num_pos=len(featurizer.pos_tags),
        num_intents=len(intents),
        tags=tags,
    )
    sparse_params = list(network.embed.parameters())
    dense_params = [p for n, p in network.named_parameters() if not n.startswith("embed.")]
    optimizers = [
        torch.optim.SparseAdam(sparse_params, lr=training.learning_rate),
        torch.optim.AdamW(dense_params, lr=training.learning_rate, weight_decay=1e-4),
    ]
    steps_per_epoch = math.ceil(len(train_items) / training.batch_size)
    total_steps = steps_per_epoch * training.epochs
    # Cosine decay: large steps early, fine adjustment late, no schedule to tune per bot.
    schedule = lambda step: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step / total_steps, 1.0)))  # noqa: E731
    schedulers = [torch.optim.lr_scheduler.LambdaLR(o, schedule) for o in optimizers]

    best_score: tuple[float, float] = (-1.0, 0.0)
    best_state, best_epoch, stale = None, 0, 0
    history = []
    epoch_bar = tqdm(range(1, training.epochs + 1), desc="training", unit="epoch", disable=not progress)
    for epoch in epoch_bar:
        network.train()
        rng.shuffle(train_items)
        total_loss = 0.0
        for start in range(0, len(train_items), training.batch_size):
            chunk = train_items[start : start + training.batch_size]
            loss = _loss(network, chunk)
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dense_params, 5.0)
            for optimizer, scheduler in zip(optimizers, schedulers):
                optimizer.step()
                scheduler.step()
            total_loss += loss.item() * len(chunk)
        record = {"epoch": epoch, "loss": total_loss / len(train_items)}
        if valid_items:
            record.update(_validate(network, valid_items, tags))
            # Stop when accuracy + F1 stop improving (patience); among the epochs seen, keep the
            # best, breaking ties by validation loss: accuracy and F1 saturate early on small bots,
            # and the loss still tells whether the model got more confident where it is right.
            score = (round(record["intent_accuracy"] + record["entity_f1"], 6), -record["validation_loss"])
            stale = 0 if score[0] > best_score[0] else stale + 1
            if score > best_score:
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(network.state_dict())
        history.append(record)
        epoch_bar.set_postfix({k: f"{v:.4f}" for k, v in record.items() if k != "epoch"})
        logger.info("epoch %d: %s", epoch, record)
        if valid_items and stale >= training.patience:
            break
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()

    threshold, calibration = _calibrate(network, valid_items or train_items, valid_ood, settings.intent)
    report = {
        "train_seconds": round(time.perf_counter() - started, 2),
        "epochs_run": len(history),
        "best_epoch": best_epoch or len(history),
        "examples": {"train": len(train_items) - len(train_ood), "train_ood": len(train_ood),
                     "validation": len(valid_items), "validation_ood": len(valid_ood)},
        "validation": next((h for h in history if h["epoch"] == best_epoch), history[-1]),
        "calibration": calibration,
    }
    return Model(config, intents=intents, tags=tags, featurizer=featurizer, network=network,
                 threshold=threshold, report=report)


def _loss(
    network: JointNetwork, chunk: list[_Item], *, intent_weight: float = 1.0, entity_weight: float = 1.0
) -> torch.Tensor:
    """The joint loss of one batch. A weight of 0 switches a task off (bench/snips_experiments.py
    trains the two halves of a "separate models" setup that way)."""
    batch = collate([it.encoded for it in chunk])
    sentence, emissions = network(batch)
    labels = torch.tensor([it.intent for it in chunk])
    in_domain = labels != _OOD
    loss = sentence.new_zeros(())
    intent_loss = network.intent_loss
    if intent_weight and in_domain.any():
        loss = loss + intent_weight * intent_loss(sentence[in_domain], labels[in_domain])
    if intent_weight and (~in_domain).any():
        loss = loss + intent_weight * _OUTLIER_WEIGHT * intent_loss.outlier_loss(sentence[~in_domain])
    if not entity_weight:
        return loss
    tag_ids = torch.zeros(batch.mask.shape, dtype=torch.long)
    for row, it in enumerate(chunk):
        tag_ids[row, : len(it.tag_ids)] = torch.tensor(it.tag_ids, dtype=torch.long)
    return loss + entity_weight * network.entity_loss(emissions, tag_ids, batch.mask)


def _forward_all(network: JointNetwork, items: list[_Item], batch_size: int = 256):
    """In-domain scores, predicted intents and emissions for many items, without gradients."""
    scores, predictions, emissions = [], [], []
    with torch.inference_mode():
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            sentence, emission = network(collate([it.encoded for it in chunk]))
            intent = DistanceClassifier(network.intent_loss).scores(sentence)
            scores.append(intent.in_domain.numpy())
            predictions.append(intent.predicted.numpy())
            emissions += [emission[i, : len(it.tokens)].numpy() for i, it in enumerate(chunk)]
    return np.concatenate(scores), np.concatenate(predictions), emissions


def _validate(network: JointNetwork, items: list[_Item], tags: list[str]) -> dict[str, float]:
    network.eval()
    with torch.inference_mode():
        loss = sum(_loss(network, items[i : i + 256]).item() * len(items[i : i + 256]) for i in range(0, len(items), 256))
    _, predictions, emissions = _forward_all(network, items)
    crf_scores = network.crf.decode_numpy()
    gold, predicted = [], []
    for item, emission in zip(items, emissions):
        path = viterbi(emission, *crf_scores) if network.use_crf else emission.argmax(-1).tolist()
        text = item.example.text
        gold.append({(e.start, e.end, e.type) for e in tags_to_entities(item.tokens, item.tags, text)})
        predicted.append({(e.start, e.end, e.type) for e in tags_to_entities(item.tokens, [tags[t] for t in path], text)})
    accuracy = float(np.mean(predictions == np.array([it.intent for it in items])))
    return {
        "validation_loss": loss / len(items),
        "intent_accuracy": accuracy,
        "entity_f1": span_prf(gold, predicted)["f1"],
    }


def _calibrate(network: JointNetwork, valid: list[_Item], valid_ood: list[_Item], intent: IntentSettings):
    id_scores, _, _ = _forward_all(network, valid)
    ood_scores = _forward_all(network, valid_ood)[0] if valid_ood else None
    threshold, method = choose_threshold(
        id_scores, ood_scores, criterion=intent.threshold,
        target_ood_recall=intent.target_ood_recall, false_fallback_rate=intent.false_fallback_rate,
    )
    return threshold, {"method": method, "threshold": threshold,
                       "held_out_in_domain": len(valid), "held_out_ood": len(valid_ood)}
