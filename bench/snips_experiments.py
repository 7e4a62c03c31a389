"""SNIPS experiments: which model changes move slot F1 and intent accuracy, and at what cost.

Each variant trains on train and is measured on valid (to choose) and test (to report), like
bench/snips.py. Variants that need code changes are made here by patching, not by editing the
library, so that they can be tried before anyone changes ``malmoi.model``:

- ``baseline``: the default settings.
- ``bilstm``, ``cnn4``, ...: settings only (encoder kind, depth, width, epochs).
- ``char-cnn``, ``bilstm-char``: a character CNN per token, made by patching the featurizer
  pipeline and subclassing the network.
- ``softmax-tags``: cross-entropy per token instead of the CRF, decoded by argmax.
- ``entity-only`` / ``intent-only``: one task's loss switched off, the two halves of a
  "separate models" setup (issue 4: joint versus separate). ``separate`` in the summary
  combines them: intent from one, slots from the other, time and size added up.

Run one variant at a time (the machine is shared):

    python bench/snips_experiments.py bilstm [--verbose]
    python bench/snips_experiments.py --summary     # table of every result saved so far
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import snips
from malmoi.evaluate import format_table

RESULTS = snips.ROOT / "bench" / "results" / "snips_experiments"


@contextlib.contextmanager
def task_weights(intent: float, entity: float) -> Iterator[None]:
    """Train with the intent and entity losses weighted; 0 switches a task off."""
    import functools

    from malmoi.model import training

    def validate(*args: Any, **kwargs: Any) -> dict[str, float]:
        # Early stopping adds intent accuracy and entity F1: a task switched off must not count.
        record = original_validate(*args, **kwargs)
        if not intent:
            record["intent_accuracy"] = 0.0
        if not entity:
            record["entity_f1"] = 0.0
        return record

    original, original_validate = training._loss, training._validate
    loss = functools.partial(original, intent_weight=intent, entity_weight=entity)
    training._loss, training._validate = loss, validate
    try:
        yield
    finally:
        training._loss, training._validate = original, original_validate


_CHAR_BUCKETS, _CHAR_DIM, _MAX_CHARS = 512, 32, 24


@contextlib.contextmanager
def char_cnn() -> Iterator[None]:
    """Add a character CNN per token (Ma & Hovy 2016; Lample et al. 2016) to the token vectors.

    Characters are hashed into 512 buckets (no vocabulary to fit or save); each token's
    character embeddings go through a width-3 convolution and a max over its characters, and
    the result is added to the word + n-gram vector before the encoder.
    """
    import zlib

    import torch
    from torch import nn

    from malmoi.model import model as model_module
    from malmoi.model import network, pipeline, training

    original_encode, original_collate = pipeline.encode_tokens, pipeline.collate

    def char_id(char: str) -> int:
        return 1 + zlib.crc32(char.encode("utf-8")) % (_CHAR_BUCKETS - 1)

    def encode_tokens(tokens: Any, featurizer: Any) -> Any:
        encoded = original_encode(tokens, featurizer)
        encoded.char_ids = [[char_id(c) for c in t.text[:_MAX_CHARS]] for t in tokens]
        return encoded

    def collate(items: Any) -> Any:
        batch = original_collate(items)
        chars = torch.zeros(*batch.mask.shape, _MAX_CHARS, dtype=torch.long)  # (batch, tokens, chars)
        for row, item in enumerate(items):
            for col, ids in enumerate(item.char_ids):
                chars[row, col, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        batch.char_ids = chars
        return batch

    class CharNetwork(network.JointNetwork):
        def __init__(self, settings: Any, **kwargs: Any):
            super().__init__(settings, **kwargs)
            dim = settings.encoder.dim
            self.char_embed = nn.Embedding(_CHAR_BUCKETS, _CHAR_DIM, padding_idx=0)
            self.char_conv = nn.Conv1d(_CHAR_DIM, dim, 3, padding=1)

        def token_vectors(self, batch: Any) -> torch.Tensor:
            x = super().token_vectors(batch)  # (batch, tokens, dim)
            batch_size, length = batch.mask.shape
            chars = self.char_embed(batch.char_ids.view(batch_size * length, -1))  # (batch*tokens, chars, cdim)
            conv = self.char_conv(chars.transpose(1, 2))  # (batch*tokens, dim, chars)
            pad = (batch.char_ids.view(batch_size * length, 1, -1) == 0)  # (batch*tokens, 1, chars)
            conv = conv.masked_fill(pad, torch.finfo(conv.dtype).min).max(-1).values  # (batch*tokens, dim)
            conv = conv.masked_fill(pad.all(-1), 0.0)  # tokens of no characters (padding)
            return x + torch.tanh(conv).view(batch_size, length, -1)

    patches = [(pipeline, "encode_tokens", encode_tokens), (pipeline, "collate", collate),
               (training, "encode_tokens", encode_tokens), (training, "collate", collate),
               (model_module, "encode_tokens", encode_tokens), (model_module, "collate", collate),
               (training, "JointNetwork", CharNetwork)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, value in patches:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


# name: (settings overrides, context manager factory or None, what it tests)
VARIANTS: dict[str, tuple[dict[str, Any], Callable[[], contextlib.AbstractContextManager[None]] | None, str]] = {
    "baseline": ({}, None, "default settings: CNN 2x128, k=3, 30 epochs, patience 4"),
    "patience8": ({"training": {"patience": 8, "epochs": 40}}, None, "longer training for the CRF"),
    "bilstm": ({"encoder": {"kind": "bilstm"}}, None, "BiLSTM 2x(2x64): whole-sentence context for slots"),
    "bilstm256": ({"encoder": {"kind": "bilstm", "dim": 256}, "training": {"patience": 6}}, None,
                  "BiLSTM 2x(2x128)"),
    "cnn4": ({"encoder": {"layers": 4}}, None, "CNN 4 layers: receptive field 9 tokens instead of 5"),
    "cnn4k5": ({"encoder": {"layers": 4, "kernel_size": 5, "dim": 192}}, None, "CNN 4x192, k=5: field 17"),
    "char-cnn": ({}, char_cnn, "a character CNN per token, added to the word + n-gram vector"),
    "bilstm-char": ({"encoder": {"kind": "bilstm"}}, char_cnn, "BiLSTM and a character CNN per token"),
    "softmax-tags": ({"entity": {"crf": False}}, None,
                     "per-token softmax tagging instead of the CRF (Kochat's comparison)"),
    "entity-only": ({}, lambda: task_weights(0.0, 1.0), "separate models: the slot tagger alone"),
    "intent-only": ({}, lambda: task_weights(1.0, 0.0), "separate models: the intent classifier alone"),
}


def run_variant(name: str, data_dir: Path, seed: int | None, threads: int | None) -> dict[str, Any]:
    overrides, patch, description = VARIANTS[name]
    with (patch() if patch else contextlib.nullcontext()):
        result = snips.run(data_dir, overrides, seed, threads)
    result["variant"] = {"name": name, "description": description}
    return result


def summary() -> None:
    results = {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(RESULTS.glob("*.json"))}
    default_run = snips.ROOT / "bench" / "results" / "snips.json"  # bench/snips.py, default settings
    if "baseline" not in results and default_run.exists():
        results = {"baseline (bench/snips.py)": json.loads(default_run.read_text("utf-8")), **results}
    if "entity-only" in results and "intent-only" in results:
        slots, intents = results["entity-only"], results["intent-only"]
        results["separate"] = {
            "valid": {**slots["valid"], "intent_accuracy": intents["valid"]["intent_accuracy"]},
            "test": {**slots["test"], "intent_accuracy": intents["test"]["intent_accuracy"],
                     "sentence_exact_match": float("nan")},  # needs both models per utterance
            "train_seconds": slots["train_seconds"] + intents["train_seconds"],
            "model_size_mb": slots["model_size_mb"] + intents["model_size_mb"],
            "parse_latency": {"p50_ms": slots["parse_latency"]["p50_ms"] + intents["parse_latency"]["p50_ms"]},
            "epochs_run": f"{slots['epochs_run']}+{intents['epochs_run']}",
        }
    rows = []
    for name, r in results.items():
        rows.append({
            "variant": name,
            "valid slot F1": r["valid"]["slot_f1"], "valid intent": r["valid"]["intent_accuracy"],
            "test slot F1": r["test"]["slot_f1"], "test intent": r["test"]["intent_accuracy"],
            "test exact": r["test"]["sentence_exact_match"],
            "train s": r["train_seconds"], "epochs": r["epochs_run"],
            "p50 ms": r["parse_latency"]["p50_ms"], "MB": r["model_size_mb"],
        })
    columns = ["variant", "valid slot F1", "valid intent", "test slot F1", "test intent", "test exact",
               "train s", "epochs", "p50 ms", "MB"]
    print(format_table(rows, columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", nargs="?", choices=list(VARIANTS))
    parser.add_argument("--data", type=Path, default=snips.DEFAULT_DATA)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int, help="torch threads for training (default: one per core)")
    parser.add_argument("--summary", action="store_true", help="print the table of saved results")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.variant:
        result = run_variant(args.variant, args.data, args.seed, args.threads)
        snips.print_summary(result)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"{args.variant}.json"
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
        print(f"\nsaved {out}")
    if args.summary or not args.variant:
        summary()


if __name__ == "__main__":
    main()
