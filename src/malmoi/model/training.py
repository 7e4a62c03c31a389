"""Training: examples in, the fitted parts of a :class:`~malmoi.model.Model` out.

``prepare → fit → calibrate``, on data in memory, with a random generator of its own:

1. **prepare** analyses every utterance once (Kiwi for Korean), cuts tokens at entity edges and
   splits off a stratified validation share of the intents and of the out-of-domain examples;
2. **fit** builds the components named in the settings (:mod:`malmoi.registry`), lets the
   encoder and the lexical featurizer read the training utterances, precomputes every
   utterance's inputs, and trains intents and entities together, stopping early when the
   validation figures stop improving;
3. **calibrate** exports the network into the numpy parts that parse, fits the linear floor on
   the n-grams beside it and blends the two on the held-out utterances (:mod:`malmoi.model.stacking`),
   and chooses the fallback threshold on them, scored exactly as parsing scores them.

Out-of-domain examples take part twice: during training they are pushed away from every class
centre (outlier exposure, Hendrycks et al. 2019), and a held-out share of them calibrates the
threshold. :func:`train` is the file-reading entry point (``malmoi train``).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from malmoi.data.schema import Example
from malmoi.encode.base import Encoder
from malmoi.encode.runtime import EncoderRuntime, artifact_encoder, encoder_files
from malmoi.entity.decode import viterbi
from malmoi.entity.head import EntityHead
from malmoi.entity.metrics import span_scores
from malmoi.entity.tagger import EntityTagger
from malmoi.intent.fallback import Fallback
from malmoi.intent.head import IntentHead, collate_lexical
from malmoi.intent.linear import LinearFloor
from malmoi.intent.scoring import IntentScorer
from malmoi.model.network import Batch, Network
from malmoi.model.stacking import fallback_and_blend, fit_floor, refit_floor
from malmoi.parts import Extractor, Part
from malmoi.settings import BotConfig, Settings
from malmoi.text import entities_to_tags, entity_boundaries, tags_to_entities
from malmoi.text.doc import Analyzer, Doc

__all__ = ["Fitted", "fit", "tag_labels"]

logger = logging.getLogger("malmoi")

OUT_OF_DOMAIN = -1  # intent label of out-of-domain examples
# Called after every epoch with the pass ("fit", or "refit" on all data) and the epoch's figures.
EpochCallback = Callable[[str, dict[str, float]], None]
# epochs: auto (settings.training): about this many optimizer steps, within these epochs.
AUTO_STEPS, AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS = 1200, 5, 40
# Early stopping waits at least this many optimizer steps without improvement, whatever
# `training.patience` says in epochs: a 10-shot bot's epoch is a dozen steps, and 4 of them
# stopped CLINC150 10-shot at epoch 9 of 40 (top-1 0.834 on the validation split; 10 epochs of
# patience: 0.859). Larger bots are unchanged (KMOU NER, the smallest benchmark, has 23 steps an epoch).
PATIENCE_MIN_STEPS = 90
# The learning rate's cosine decay spans at least this many epochs, however few `epochs: auto`
# runs. Decaying over auto's 12 epochs on SNIPS annealed the tagger before it had learned: slot
# F1 92.3 -> 90.6 %, intent 97.1 -> 96.3 % (the horizon of the 2026-11-23 core, 30 epochs, restores
# them at the same 12 epochs and the same time; early stopping still keeps the best epoch).
DECAY_MIN_EPOCHS = 30
# refit: auto (settings.training): train again on everything when an intent has fewer examples.
REFIT_BELOW = 30
# Out-of-domain examples held out for calibration: at least this share (and the validation share).
# The threshold is only as good as the out-of-domain scores it sees; a tenth of a few hundred is
# too few (CLINC150: 20 of 200 left 64 % of out-of-scope queries in domain).
_CALIBRATION_OOD_SHARE = 0.3


# A fitted part as a model adopts it: the registry it is found in, its registered type, the part.
PartEntry = tuple[str, str, Part]


@dataclass
class Fitted:
    """What :func:`fit` returns: the labels, the fitted parts by name, and how training went."""

    intents: list[str]
    tags: list[str]
    parts: dict[str, PartEntry]
    encoder_bundled: bool  # the model keeps its encoder's files (trained) or refers to them (frozen)
    report: dict[str, Any]


@dataclass
class _Run:
    """One call of :func:`fit`: the bot's configuration and the analyser of its language."""

    config: BotConfig
    analyzer: Analyzer = field(init=False)

    def __post_init__(self) -> None:
        self.analyzer = Analyzer(self.config.language)

    @property
    def settings(self) -> Settings:
        return self.config.settings


def tag_labels(entity_types: Sequence[str], scheme: str) -> list[str]:
    prefixes = "BIES" if scheme == "BIOES" else "BI"
    return ["O"] + [f"{p}-{t}" for t in sorted(entity_types) for p in prefixes]


@dataclass
class _Item:
    example: Example
    doc: Doc
    intent: int
    tag_ids: list[int]
    encoder_input: Any = None
    lexical_input: tuple[np.ndarray, np.ndarray] | None = None
    gold_spans: set[tuple[int, int, str]] = field(default_factory=set)


def _prepare(
    run: _Run, examples: Sequence[Example], intents: dict[str, int], tag_index: dict[str, int]
) -> list[_Item]:
    scheme = run.settings.entity.scheme
    items = []
    for example, doc in zip(examples, run.analyzer.many([e.text for e in examples])):
        if doc.normalized != example.text:
            raise ValueError(
                f"{example.source or example.text!r}: training text must be normalized (malmoi.data loads it so); "
                f"got {example.text!r}"
            )
        if example.entities:
            doc = run.analyzer.retokenized(doc, entity_boundaries(example.entities))
        tags = entities_to_tags(doc.tokens, list(example.entities), scheme) if doc.tokens else []
        intent = OUT_OF_DOMAIN if example.intent is None else intents[example.intent]
        spans = {(e.start, e.end, e.type) for e in example.entities}
        items.append(_Item(example, doc, intent, [tag_index[t] for t in tags], gold_spans=spans))
    return items


def _split(items: list[_Item], fraction: float, rng: np.random.Generator) -> tuple[list[_Item], list[_Item]]:
    """Stratified split: each intent (and the out-of-domain group) keeps ``fraction`` for validation.
    Weighed examples (a reviewer's answers) always train: held out, they would not be learned."""
    if fraction <= 0:
        return items, []
    groups: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        if item.example.weight == 1:
            groups[item.intent].append(item)
    train: list[_Item] = [item for item in items if item.example.weight != 1]
    valid: list[_Item] = []
    for key in sorted(groups):
        group = groups[key]
        order = rng.permutation(len(group))
        n_valid = max(1, round(len(group) * fraction)) if len(group) >= 2 else 0
        valid += [group[i] for i in order[:n_valid]]
        train += [group[i] for i in order[n_valid:]]
    return train, valid


def _epoch_items(train_items: Sequence[_Item], train_ood: Sequence[_Item]) -> list[_Item]:
    """What an epoch trains on: an example of weight w counts w times (reviewed utterances:
    :data:`malmoi.data.schema.REVIEWED_WEIGHT`)."""
    return [item for item in (*train_items, *train_ood) for _ in range(max(1, item.example.weight))]


def fit(
    config: BotConfig,
    examples: Sequence[Example],
    ood: Sequence[Example] = (),
    *,
    random_state: int | None = None,
    progress: bool = False,
    on_epoch: EpochCallback | None = None,
) -> Fitted:
    """The parts of a model of ``config`` fitted on ``examples`` (see :meth:`malmoi.model.Model.fit`)."""
    run = _Run(config)
    settings = run.settings
    training = settings.training
    seed = training.seed if random_state is None else random_state
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    if not examples:
        raise ValueError("fit needs at least one labelled example")
    if any(e.intent is None for e in examples):
        raise ValueError("examples must have an intent; pass out-of-domain examples as `ood`")

    intents = sorted({e.intent for e in examples if e.intent is not None})
    tags = tag_labels(sorted({ent.type for e in examples for ent in e.entities}), settings.entity.scheme)
    intent_index = {name: i for i, name in enumerate(intents)}
    tag_index = {t: i for i, t in enumerate(tags)}
    train_items, valid_items = _split(
        _prepare(run, examples, intent_index, tag_index), training.validation_split, rng
    )
    ood_items = _prepare(run, ood, intent_index, tag_index)
    ood_share = max(training.validation_split, _CALIBRATION_OOD_SHARE) if training.validation_split > 0 else 0.0
    train_ood, valid_ood = _split(ood_items, ood_share, rng)
    analysed = time.perf_counter()

    # Without out-of-domain examples, some intents are hidden from the first model: their
    # utterances are what the model has never seen, and stand in for out-of-domain requests when
    # the threshold is chosen. The second pass (refit) then learns every intent.
    hidden = _intents_to_hide(run, intents, ood_items, valid_items, rng)
    first_intents, first_train, first_valid, stand_ins = intents, train_items, valid_items, valid_ood
    if hidden:
        first_intents = [name for name in intents if name not in hidden]
        renumber = {intent_index[name]: i for i, name in enumerate(first_intents)}
        first_train = [replace(it, intent=renumber[it.intent]) for it in train_items if it.intent in renumber]
        first_valid = [replace(it, intent=renumber[it.intent]) for it in valid_items if it.intent in renumber]
        stand_ins = [
            replace(it, intent=OUT_OF_DOMAIN) for it in (*train_items, *valid_items) if it.intent not in renumber
        ]

    # torch draws initial weights and dropout masks from its global generator: fork it, so this
    # fit is reproducible and leaves the caller's random state as it found it.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**31)))
        encoder = _build_encoder(run)
        # A pretrained encoder with `fine_tune` tunes a copy of itself on the training share
        # (never on the held-out one, which must stay unseen to calibrate the threshold).
        tuning = encoder.adapt(
            [it.doc for it in (*first_train, *train_ood)], [it.intent for it in (*first_train, *train_ood)], rng
        )
        network, lexical, history, best_epoch = _train_network(
            run,
            first_train,
            train_ood,
            first_valid,
            first_intents,
            tags,
            rng,
            progress,
            on_epoch=on_epoch,
            encoder=encoder,
        )
    trained = time.perf_counter()

    parts, bundled = _export(run, network, lexical, tags)
    how: dict[str, Any] = {}
    if hidden:
        how = {"hidden_intents": sorted(hidden),
               "note": f"{len(hidden)} of {len(intents)} intents hidden as out-of-domain stand-ins"}
    # The floor's blend is learned on the held-out share: without one there is nothing to learn it on.
    floor = _fit_floor(run, parts, first_train, len(first_intents)) if first_valid else None
    floored = time.perf_counter()
    fallback, floor = _calibrate(run, parts, first_valid or first_train, stand_ins, floor, first_train, **how)
    calibrated = time.perf_counter()

    refit = bool(hidden) or (_should_refit(training.refit, [*train_items, *valid_items]) and bool(valid_items))
    if refit:
        # The held-out share chose the epochs and the threshold; now every example trains, for
        # that many epochs. With a handful of utterances per intent, the one or two held out are
        # a large part of what the model could learn from; hidden intents must be learned too.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            network, lexical, _, _ = _train_network(
                run,
                [*train_items, *valid_items],
                [*train_ood, *valid_ood],
                [],
                intents,
                tags,
                rng,
                progress,
                epochs=best_epoch or len(history),
                on_epoch=on_epoch,
                phase="refit",
                # A frozen (perhaps tuned) encoder is reused; a trainable one starts afresh.
                encoder=None if encoder.trainable else encoder,
            )
        parts, bundled = _export(run, network, lexical, tags)
        if floor is not None:
            floor = refit_floor(floor, lexical, [it.lexical_input for it in (*train_items, *valid_items)],  # type: ignore[misc]
                                [it.intent for it in (*train_items, *valid_items)], len(intents))
    if floor is not None:
        parts["floor"] = ("intent_heads", "linear-floor.v1", floor)
    parts["fallback"] = ("fallbacks", "fallback.v1", fallback)
    parts.update(_fit_extractors(run, examples))
    report = {
        "train_seconds": round(time.perf_counter() - started, 2),
        "seconds": {
            "analysis": round(analysed - started, 2),
            "training": round(trained - analysed, 2),
            **({"floor": round(floored - trained, 2)} if floor is not None else {}),
            "calibration": round(calibrated - floored, 2),
            **({"refit": round(time.perf_counter() - calibrated, 2)} if refit else {}),
        },
        "refit": refit,
        **({"fine_tune": tuning} if tuning is not None else {}),
        "epochs_run": len(history),
        "best_epoch": best_epoch or len(history),
        "examples": {
            "train": len(train_items),
            "train_ood": len(train_ood),
            "validation": len(valid_items),
            "validation_ood": len(valid_ood),
        },
        "validation": next((h for h in history if h["epoch"] == best_epoch), history[-1] if history else {}),
        "history": history,
        "calibration": fallback.state(),
        **({"floor": {**floor.state(), "kept_weights": len(floor.weights), "megabytes": round(floor.nbytes / 2**20, 2)}}
           if floor is not None else {}),
    }
    return Fitted(intents=intents, tags=tags, parts=parts, encoder_bundled=bundled, report=report)


def _intents_to_hide(
    run: _Run, intents: list[str], ood_items: list[_Item], valid_items: list[_Item], rng: np.random.Generator
) -> set[str]:
    """Intents to hide from the first model when the bot has no out-of-domain examples."""
    share = run.settings.intent.hide_intents
    if ood_items or not valid_items or share <= 0 or not run.settings.intent.fallback or len(intents) < 3:
        return set()
    count = min(len(intents) - 2, max(1, round(len(intents) * share)))
    return {intents[i] for i in rng.choice(len(intents), count, replace=False)}


def _should_refit(setting: bool | str, items: Sequence[_Item]) -> bool:
    if setting != "auto":
        return bool(setting)
    per_intent: dict[int, int] = defaultdict(int)
    for item in items:
        per_intent[item.intent] += 1
    return min(per_intent.values()) < REFIT_BELOW


def _build_encoder(run: _Run) -> Encoder:
    from malmoi import registry

    encoder = registry.encoders.get(run.settings.encoder.type).factory(run.settings.encoder)
    if not isinstance(encoder, Encoder):
        raise TypeError(
            f"encoder {run.settings.encoder.type!r} built a {type(encoder).__name__}, not a malmoi Encoder"
        )
    return encoder


def _train_network(
    run: _Run,
    train_items: list[_Item],
    train_ood: list[_Item],
    valid_items: list[_Item],
    intents: list[str],
    tags: list[str],
    rng: np.random.Generator,
    progress: bool,
    *,
    epochs: int | None = None,
    on_epoch: EpochCallback | None = None,
    phase: str = "fit",
    encoder: Encoder | None = None,
) -> tuple[Network, Any, list[dict[str, float]], int]:
    from malmoi import registry

    settings = run.settings
    training = settings.training
    encoder = encoder if encoder is not None else _build_encoder(run)
    fitted = [*train_items, *train_ood]
    encoder.initialize([it.doc for it in fitted])
    lexical = registry.lexical.get(settings.lexical.type).factory(settings.lexical)
    if lexical is not None:
        for item, features in zip(fitted, lexical.fit_transform([it.doc for it in fitted])):
            item.lexical_input = features
        for item in valid_items:
            item.lexical_input = lexical.transform(item.doc)
    # A frozen encoder gives the same inputs in every pass (the refit pass reuses them); a
    # trainable one may read what `initialize` learned, so its inputs are computed again.
    todo = [it for it in (*fitted, *valid_items) if encoder.trainable or it.encoder_input is None]
    for item, features in zip(todo, encoder.featurize_many([it.doc for it in todo])):
        item.encoder_input = features

    intent_head = IntentHead(
        encoder.output_dim,
        len(intents),
        settings.intent,
        lexical_size=lexical.size if lexical is not None else 0,
        lexical_dropout=getattr(settings.lexical, "dropout", 0.0),
        dim=encoder.head_dim,
    )
    sentence_dim = encoder.head_dim or encoder.output_dim
    entity_head = EntityHead(encoder.output_dim, sentence_dim, tags, settings.entity) if len(tags) > 1 else None
    network = Network(encoder, intent_head, entity_head)
    sparse, dense = network.trainable_parameters()
    # fused: one kernel for every dense parameter instead of one per parameter (5x faster a step).
    optimizers: list[torch.optim.Optimizer] = [
        torch.optim.AdamW(dense, lr=training.learning_rate, weight_decay=1e-4, fused=True)
    ]
    if sparse:
        optimizers.append(torch.optim.SparseAdam(sparse, lr=training.learning_rate))
    items = _epoch_items(train_items, train_ood)
    steps_per_epoch = math.ceil(len(items) / training.batch_size)
    epochs = epochs or epoch_count(training.epochs, steps_per_epoch)
    total_steps = steps_per_epoch * max(epochs, DECAY_MIN_EPOCHS)
    patience = max(training.patience, math.ceil(PATIENCE_MIN_STEPS / steps_per_epoch))
    # Cosine decay: large steps early, fine adjustment late, no schedule to tune per bot.
    schedulers = [
        torch.optim.lr_scheduler.LambdaLR(
            o, lambda step: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step / total_steps, 1.0)))
        )
        for o in optimizers
    ]

    best_score: tuple[float, float] = (-1.0, 0.0)
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch, stale = 0, 0
    history: list[dict[str, float]] = []
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        network.train()
        total = 0.0
        for chunk in _batches(items, training.batch_size, rng):
            loss = _loss(network, chunk)
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dense, 5.0)
            for optimizer, scheduler in zip(optimizers, schedulers):
                optimizer.step()
                scheduler.step()
            total += loss.item() * len(chunk)
        record = {"epoch": epoch, "loss": total / len(items), "learning_rate": schedulers[0].get_last_lr()[0]}
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
        if on_epoch is not None:
            on_epoch(phase, record)
        bar.set_postfix({k: f"{v:.4f}" for k, v in record.items() if k != "epoch"})
        logger.info("epoch %d: %s", epoch, record)
        if valid_items and stale >= patience:
            break
    if best_state is not None:
        network.load_state_dict(best_state)
    return network.eval(), lexical, history, best_epoch


def epoch_count(epochs: int | str, steps_per_epoch: int) -> int:
    """``settings.training.epochs``, with ``"auto"`` resolved for this many steps per epoch."""
    if epochs == "auto":
        return min(AUTO_MAX_EPOCHS, max(AUTO_MIN_EPOCHS, round(AUTO_STEPS / max(steps_per_epoch, 1))))
    return int(epochs)


def _batches(items: list[_Item], size: int, rng: np.random.Generator) -> list[list[_Item]]:
    """Shuffled batches of utterances of similar length (less padding), in shuffled order."""
    order = rng.permutation(len(items))
    pool = size * 50  # sort within pools of 50 batches: similar lengths, still random batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool].tolist(), key=lambda i: len(items[i].doc.tokens))
        batches += [[items[i] for i in chunk[s : s + size]] for s in range(0, len(chunk), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _batch(network: Network, chunk: Sequence[_Item]) -> Batch:
    lexical = [it.lexical_input for it in chunk if it.lexical_input is not None]
    return Batch(
        network.encoder.collate([it.encoder_input for it in chunk]),
        collate_lexical(lexical) if network.intent.lexical is not None and len(lexical) == len(chunk) else None,
    )


def _loss(network: Network, chunk: Sequence[_Item]) -> torch.Tensor:
    """The joint loss of one batch: intents, outlier exposure and entities, each a mean per example."""
    sentence, emissions, mask = network(_batch(network, chunk))
    labels = torch.tensor([it.intent for it in chunk])
    in_domain = labels != OUT_OF_DOMAIN
    loss = sentence.new_zeros(())
    intent_loss = network.intent.loss
    n = len(chunk)
    if in_domain.any():
        loss = loss + intent_loss(sentence[in_domain], labels[in_domain]) * (int(in_domain.sum()) / n)
    if (~in_domain).any():
        loss = loss + intent_loss.outlier_loss(sentence[~in_domain]) * (int((~in_domain).sum()) / n)
    if emissions is None or network.entity is None:
        return loss
    # Out-of-domain utterances take part too, all outside tags: they teach where entities are not.
    tag_ids = torch.zeros(mask.shape, dtype=torch.long)
    for row, it in enumerate(chunk):
        tag_ids[row, : len(it.tag_ids)] = torch.tensor(it.tag_ids, dtype=torch.long)
    return loss + network.entity.loss(emissions, tag_ids, mask)


def _validate(network: Network, items: list[_Item], tags: list[str]) -> dict[str, float]:
    network.eval()
    total, correct = 0.0, 0
    gold: list[set[tuple[int, int, str]]] = []
    predicted: list[set[tuple[int, int, str]]] = []
    decode = network.entity.crf.decode_numpy() if network.entity is not None else None
    with torch.inference_mode():
        for start in range(0, len(items), 256):
            chunk = items[start : start + 256]
            total += _loss(network, chunk).item() * len(chunk)
            sentence, emissions, _ = network(_batch(network, chunk))
            nearest = network.intent.loss.similarities(sentence).argmax(-1)
            correct += int((nearest == torch.tensor([it.intent for it in chunk])).sum())
            for row, item in enumerate(chunk):
                gold.append(item.gold_spans)
                if emissions is None or decode is None or not item.doc.tokens:
                    predicted.append(set())
                    continue
                path = viterbi(emissions[row, : len(item.doc.tokens)].numpy(), *decode)
                found = tags_to_entities(item.doc.tokens, [tags[t] for t in path], item.doc.normalized)
                predicted.append({(e.start, e.end, e.type) for e in found})
    network.train()
    has_entities = any(gold) or any(predicted)
    return {
        "validation_loss": total / len(items),
        "intent_accuracy": correct / len(items),
        "entity_f1": span_scores(gold, predicted)["micro"]["f1"] if has_entities else 1.0,
    }


def _export(run: _Run, network: Network, lexical: Any, tags: list[str]) -> tuple[dict[str, PartEntry], bool]:
    """The trained network as the parts that parse (the same ones ``Model.load`` builds), and
    whether the model keeps its encoder's files (a trained encoder) or refers to them (a frozen one)."""
    settings = run.settings
    encoder = network.encoder
    if encoder.trainable:
        state, arrays = encoder.export()
        meta, _ = encoder_files(
            name=run.config.name,
            type_=settings.encoder.type,
            settings=settings.encoder.model_dump(mode="json"),
            state=state,
            arrays=arrays,
            output_dim=encoder.output_dim,
        )
        runtime: EncoderRuntime = artifact_encoder(meta, arrays, path="encoder")
        bundled = True
    else:
        frozen = getattr(encoder, "runtime", None)
        if not isinstance(frozen, EncoderRuntime):
            raise TypeError("a frozen encoder must carry the EncoderRuntime it was loaded as")
        # A fine-tuned copy of a pretrained encoder is the bot's own and is saved with it.
        runtime, bundled = frozen, bool(frozen.bundled)
    parts: dict[str, PartEntry] = {"encoder": ("encoders", settings.encoder.type, runtime)}
    if lexical is not None:
        parts["lexical"] = ("lexical", settings.lexical.type, lexical)
    intent_state, intent_arrays = network.intent.export()
    parts["intent"] = ("intent_heads", "intent-head.v1", IntentScorer(settings.intent, intent_state, intent_arrays))
    if network.entity is not None:
        entity_state, entity_arrays = network.entity.export()
        parts["entity"] = ("taggers", "crf.v1", EntityTagger(settings.entity, entity_state, entity_arrays))
    if len(tags) > 1 and network.entity is None:
        raise ValueError(f"{len(tags)} entity tags but no entity head")
    return parts, bundled


def _fit_floor(run: _Run, parts: dict[str, PartEntry], items: list[_Item], num_intents: int) -> LinearFloor | None:
    lexical = parts["lexical"][2] if "lexical" in parts else None
    features = [it.lexical_input for it in items]
    if any(f is None for f in features):
        return None
    return fit_floor(run.settings.intent, lexical, features, [it.intent for it in items], num_intents)  # type: ignore[arg-type]


def _calibrate(run: _Run, parts: dict[str, PartEntry], held_out: list[_Item], held_out_ood: list[_Item],
               floor: LinearFloor | None, seen: list[_Item], **how: Any) -> tuple[Fallback, LinearFloor | None]:
    """The fallback part and the floor's blend, from the first model's parts (:func:`fallback_and_blend`)."""
    lexical = parts["lexical"][2] if "lexical" in parts else None
    return fallback_and_blend(
        run.settings.intent, parts["encoder"][2], lexical, parts["intent"][2], floor,  # type: ignore[arg-type]
        [it.doc for it in held_out], [it.intent for it in held_out], [it.doc for it in held_out_ood],
        [it.doc for it in seen], **how)


def _fit_extractors(run: _Run, examples: Sequence[Example]) -> dict[str, PartEntry]:
    """The entity extractors of the bot, each fitted on the examples, by part name: those bot.yaml
    declares (system entities, dictionaries, patterns), then those its settings name."""
    from malmoi import registry
    from malmoi.entity.extractors import configured_extractors

    parts: dict[str, PartEntry] = {}
    built = [(registry.extractors.get(type_), extractor) for type_, extractor in configured_extractors(run.config)]
    for settings in run.settings.extractors:
        entry = registry.extractors.get(settings.type)
        built.append((entry, entry.factory(settings)))
    for entry, extractor in built:
        if not isinstance(extractor, Extractor):
            raise TypeError(f"extractor {entry.name!r} built a {type(extractor).__name__}, not a malmoi Extractor")
        base = entry.name.rsplit(".v", 1)[0]
        name = f"extractor-{base}"
        number = 2
        while name in parts:
            name, number = f"extractor-{base}-{number}", number + 1
        parts[name] = ("extractors", entry.name, extractor.fit(examples))
    return parts
