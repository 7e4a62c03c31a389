"""SNIPS as a bot: intent accuracy and exact-span slot F1, training time, parse latency.

Data: Coucke et al. 2018, SNIPS, as split by Goo et al. 2018 (github MiuLab/SlotGated-SLU), read by
path from ../shared/data/snips/{train,valid,test}/{seq.in,seq.out,label}: 7 intents, 39 slot types
in BIO, train 13,084, valid 700, test 700.

Protocol (the user-path check ../shared/check/snips):
- the bot: train + valid (13,784) as ``data/intents/<intent>.csv`` (words and their BIO tags),
  English, no out-of-domain data, bot.yaml without settings (or a variant's);
- ``malmoi train``, then ``malmoi parse`` on test (700);
- intent accuracy: the parse's ``intent.name`` is the gold intent, so a fallback counts as wrong
  (as in the check); top-1: ``intent_ranking[0]``, ignoring fallback;
- slot F1: exact (start, end, type) character spans, micro over all slots (conlleval); gold spans
  are whole words of the space-joined text, so this is word-level conlleval F1 whenever the
  predicted spans are whole words too; per slot type the same;
- sentence exact match: right intent (no fallback) and exactly the gold slots;
- parse p50/p99: one-utterance ``Model.parse`` through the Python API on one thread
  (``OMP_NUM_THREADS=1``) in a fresh process, on the first 300 test utterances after 20 warm-ups.

Classical intent floor (``--no-baseline`` skips it): TF-IDF (word 1-2-grams + character
1-4-grams), one-vs-rest logistic regression, top-1, trained on the same train + valid.

Published: the best non-pretrained joint models report about 94 slot F1 / 98 intent accuracy,
BERT-based ones about 97 / 99.

Run (full):
    python bench/snips.py [--variant bilstm='{"encoder": {"type": "bilstm"}}' ...]
Smoke test:
    OMP_NUM_THREADS=1 python bench/snips.py --limit 40
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import _userpath as up

DATA = up.DATA / "snips"
COLUMNS = ["name", "intent_accuracy", "top1_accuracy", "slot_f1", "slot_precision", "slot_recall",
           "sentence_exact_match", "train_seconds", "parse_p50_ms", "model_mb"]


def load(split: str) -> list[up.Example]:
    base = DATA / split
    ins = (base / "seq.in").read_text(encoding="utf-8").splitlines()
    outs = (base / "seq.out").read_text(encoding="utf-8").splitlines()
    labels = (base / "label").read_text(encoding="utf-8").splitlines()
    return [(a.split(), label, b.split()) for a, b, label in zip(ins, outs, labels)]


def figures(results: list[dict[str, Any]], test: list[up.Example]) -> dict[str, Any]:
    n = len(test)
    gold = [up.spans_from_tags(words, tags or []) for words, _, tags in test]
    predicted = [up.predicted_spans(r) for r in results]
    slots = up.span_scores(predicted, gold)
    return {
        "intent_accuracy": sum(r["intent"]["name"] == x[1] for r, x in zip(results, test)) / n,
        "top1_accuracy": sum(up.top1_of(r) == x[1] for r, x in zip(results, test)) / n,
        "false_fallback_rate": sum(bool(r.get("fallback")) for r in results) / n,
        "slot_f1": slots["f1"],
        "slot_precision": slots["precision"],
        "slot_recall": slots["recall"],
        "sentence_exact_match": sum(r["intent"]["name"] == x[1] and p == g
                                    for r, x, p, g in zip(results, test, predicted, gold)) / n,
        "slot_per_type": slots["per_type"],
    }


def classical_floor(train: list[up.Example], test: list[up.Example]) -> dict[str, Any]:
    started = time.perf_counter()
    model = up.classical_intent_model().fit([" ".join(w) for w, _, _ in train], [x[1] for x in train])
    seconds = time.perf_counter() - started
    predicted = model.predict([" ".join(w) for w, _, _ in test])
    top1 = sum(p == x[1] for p, x in zip(predicted, test)) / len(test)
    return {"name": "tf-idf + logreg (floor, intents only)", "model": up.CLASSICAL_INTENT, "intent_accuracy": top1,
            "top1_accuracy": top1, "train_seconds": round(seconds, 2)}


def per_type_table(rows: list[dict[str, Any]]) -> str:
    """Slot F1 per type, one column per row (default first), weakest types of the default first."""
    scored = [r for r in rows if "slot_per_type" in r]
    default = scored[0]["slot_per_type"]
    types = sorted(default, key=lambda t: (default[t]["f1"], t))
    table = [{"slot type": t, "support": default[t]["support"],
              **{f"F1 {r['name']}": r["slot_per_type"].get(t, {}).get("f1", float("nan")) for r in scored}}
             for t in types]
    return up.format_table(table, ["slot type", "support", *(f"F1 {r['name']}" for r in scored)])


def main() -> None:
    parser = up.parser(__doc__, "snips", baseline="TF-IDF + logistic regression, intents only")
    args = parser.parse_args()

    train = up.per_intent(load("train") + load("valid"), lambda x: x[1], args.limit)
    test = up.spread(load("test"), args.limit)
    print(f"SNIPS: {len(train)} training utterances, {len(test)} test", flush=True)
    texts = [" ".join(words) for words, _, _ in test]

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_csv(bot, train, language="en", name="snips", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, texts, timeout=args.timeout)
        latency = up.latency_ms(trained.model, texts)
        return {**figures(results, test), "parse_p50_ms": latency["p50_ms"], "parse_p99_ms": latency["p99_ms"],
                "latency": latency, "model_mb": up.directory_mb(trained.model)}, seconds

    rows = up.run_all(up.workdir("snips"), up.runs(args.variant), write_bot, evaluate, timeout=args.timeout)
    floor = classical_floor(train, test) if args.baseline else None

    print()
    print(up.format_table([r for r in rows if "error" not in r] + ([floor] if floor else []), COLUMNS))
    print()
    print(per_type_table(rows))
    up.save(args.out, up.result(
        "snips",
        "bot: train+valid with BIO word tags, no out-of-domain data, bot.yaml settings per row; test through "
        "`malmoi parse`; intent accuracy counts a fallback as wrong; slot F1 = exact character-span F1, micro; "
        "parse latency through the Python API, one thread",
        args,
        data={"train": len(train), "test": len(test), "intents": len({x[1] for x in train})},
        rows=rows,
        classical_floor=floor,
        published={"non-pretrained joint models": {"slot_f1": 0.94, "intent_accuracy": 0.98},
                   "BERT-based": {"slot_f1": 0.97, "intent_accuracy": 0.99}},
    ))


if __name__ == "__main__":
    main()
