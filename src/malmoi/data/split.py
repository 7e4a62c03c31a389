"""Held-out data without fooling yourself: stratified, seeded test splits and cross-validation folds.

``malmoi split BOT_DIR --test 0.2 --out DIR`` writes DIR as a bot directory that trains on the
rest, with ``DIR/test/`` holding the held-out share: a bot directory of its own, as ``malmoi
retrain`` reads it (``bot.yaml`` with ``min_examples_per_intent: 1``, ``data/intents/``,
``data/ood/``). Every intent, and the out-of-domain utterances, keep the same share (rounded), so
a rare intent is not left untested by chance; the same seed gives the same split.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from malmoi.data._loading import load_bot
from malmoi.data.conversations import CONVERSATIONS_DIR
from malmoi.data.problems import Problem
from malmoi.data.schema import Example
from malmoi.outputs import check_folder, seal

__all__ = ["SPLIT_KIND", "SplitResult", "held_out_mask", "stratified_folds", "write_split"]

SPLIT_KIND = "split bot"  # the manifest kind of a folder `malmoi split` wrote
_NOT_COPIED = {"intents", "ood", "review-log.jsonl"}  # data/ entries the split writes (or leaves) itself


def _groups(examples: Sequence[Example]) -> dict[str | None, list[int]]:
    """Indices of the examples by intent (out of domain: None), in a fixed order."""
    groups: dict[str | None, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        groups[example.intent].append(index)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or "")))


def stratified_folds(examples: Sequence[Example], k: int, *, seed: int = 0) -> list[int]:
    """The fold (0 .. k-1) of each example: every intent spread over the folds as evenly as it can be.

    Within an intent the order is shuffled (seeded); the folds that get one more example than the
    others rotate from intent to intent, so the folds stay the same size overall.
    """
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {k}")
    rng = np.random.default_rng(seed)
    fold = [0] * len(examples)
    offset = 0
    for indices in _groups(examples).values():
        for position, i in enumerate(rng.permutation(len(indices))):
            fold[indices[int(i)]] = (offset + position) % k
        offset += len(indices)
    return fold


def held_out_mask(examples: Sequence[Example], share: float, *, seed: int = 0, keep: int = 1) -> list[bool]:
    """Whether each example is held out: ``share`` of every intent (rounded, at least one when the
    intent has two or more), leaving at least ``keep`` of each intent to train on."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"the test share must be between 0 and 1, not {share}")
    rng = np.random.default_rng(seed)
    held = [False] * len(examples)
    for intent, indices in _groups(examples).items():
        n = len(indices)
        count = max(1, round(n * share)) if n >= 2 else 0
        if intent is not None:
            count = min(count, max(0, n - keep))
        for i in rng.permutation(n)[:count]:
            held[indices[int(i)]] = True
    return held


@dataclass
class SplitResult:
    out: Path
    train: dict[str, int] = field(default_factory=dict)  # intent -> utterances ("" for out of domain)
    test: dict[str, int] = field(default_factory=dict)
    notes: list[Problem] = field(default_factory=list)


def write_split(bot_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, test: float = 0.2,
                seed: int = 0) -> SplitResult:
    """Write ``bot_dir``'s data split in two: ``out`` trains, ``out/test`` tests (see the module docstring).

    Raises:
        DataError: the bot's data is invalid.
        OutputError: ``out`` holds something malmoi's split did not write (or edited since).
    """
    bot_dir, out = Path(bot_dir), Path(out)
    check_folder(out, SPLIT_KIND, "--out", edited_ok=False)
    config, data = load_bot(bot_dir)
    examples = [*data.examples, *data.ood]
    held = held_out_mask(examples, test, seed=seed, keep=config.min_examples_per_intent)
    result = SplitResult(out)
    if out.exists():
        shutil.rmtree(out)  # checked above: only files of an earlier split, unedited
    out.mkdir(parents=True)
    shutil.copy2(bot_dir / "bot.yaml", out / "bot.yaml")
    for entry in sorted((bot_dir / "data").iterdir()):
        if entry.name not in _NOT_COPIED and not entry.name.startswith("."):  # dictionaries and the like
            (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, out / "data" / entry.name)
    train = [e for e, h in zip(examples, held) if not h]
    tested = [e for e, h in zip(examples, held) if h]
    result.notes += _write_examples(out, train)
    (out / "test").mkdir()
    test_config = {"name": f"{config.name}-test", "language": config.language, "min_examples_per_intent": 1,
                   "description": f"held out by `malmoi split {bot_dir} --test {test:g} --seed {seed}`"}
    (out / "test" / "bot.yaml").write_text(yaml.safe_dump(test_config, allow_unicode=True, sort_keys=False), "utf-8")
    result.notes += _write_examples(out / "test", tested)
    if (bot_dir / CONVERSATIONS_DIR).is_dir():
        shutil.copytree(bot_dir / CONVERSATIONS_DIR, out / CONVERSATIONS_DIR)
    for name, part in (("train", train), ("test", tested)):
        counts: dict[str, int] = defaultdict(int)
        for e in part:
            counts[e.intent or ""] += 1
        setattr(result, name, dict(sorted(counts.items())))
    seal(out, SPLIT_KIND)
    return result


def _write_examples(bot: Path, examples: Sequence[Example]) -> list[Problem]:
    """``data/intents/<intent>.yml`` (entities inline) and ``data/ood/ood.txt``.

    Inline YAML reads every bracket as an entity's; an utterance with a literal one goes to
    ``<intent>.csv`` instead (Kochat's format, one tag per word), or is left out with a note when
    an entity of it does not cover whole words.
    """
    notes: list[Problem] = []
    by_intent: dict[str, list[Example]] = defaultdict(list)
    ood = []
    for example in examples:
        if example.intent is None:
            ood.append(example.text)
        else:
            by_intent[example.intent].append(example)
    (bot / "data" / "intents").mkdir(parents=True, exist_ok=True)
    for intent, items in sorted(by_intent.items()):
        inline = [e for e in items if "[" not in e.text and "]" not in e.text]
        if inline:
            lines = ["intents:", f"  {json.dumps(intent, ensure_ascii=False)}:"]
            lines += [f"    - {json.dumps(_markup(e), ensure_ascii=False)}" for e in inline]
            (bot / "data" / "intents" / f"{intent}.yml").write_text("\n".join(lines) + "\n", "utf-8")
        bracketed = [e for e in items if e not in inline]
        if bracketed:
            notes += _write_csv(bot / "data" / "intents" / f"{intent}.csv", bracketed)
    if ood:
        (bot / "data" / "ood").mkdir(parents=True, exist_ok=True)
        (bot / "data" / "ood" / "ood.txt").write_text("".join(t + "\n" for t in ood), "utf-8")
    return notes


def _markup(example: Example) -> str:
    out, position = [], 0
    for entity in sorted(example.entities, key=lambda e: e.start):
        out += [example.text[position : entity.start], f"[{entity.value}]({entity.type})"]
        position = entity.end
    return "".join(out) + example.text[position:]


def _write_csv(path: Path, examples: Sequence[Example]) -> list[Problem]:
    import csv

    from malmoi.data.tags import word_spans_to_tags

    notes, rows = [], []
    for example in examples:
        words = [(m.start(), m.end()) for m in _words(example.text)]
        spans = []
        for entity in example.entities:
            first = next((i for i, (s, _) in enumerate(words) if s == entity.start), None)
            last = next((i for i, (_, e) in enumerate(words) if e == entity.end), None)
            if first is None or last is None:
                notes.append(Problem(example.source, None, f"`{example.text}`: a literal bracket and an entity "
                                     "inside a word", "what inline YAML or a Kochat CSV can hold",
                                     "left out of the split; add it to a data file by hand", "warning"))
                break
            spans.append((first, last, entity.type))
        else:
            rows.append([example.text, " ".join(word_spans_to_tags(spans, len(words), "BIO"))])
    if rows:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["question", "label"])
            writer.writerows(rows)
    return notes


def _words(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"\S+", text))
