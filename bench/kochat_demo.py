"""Kochat's demo data as a bot: intents, fallback, entities, training time, speed, size, memory.

Data: the Kochat demo (github hyunwoongko/kochat, demo/data), read by path from
../shared/data/kochat-demo: raw/{dust,restaurant,travel,weather}.csv (question, label: one BIOES
tag per word; DATE, LOCATION, PLACE, RESTAURANT) and ood/ood_data.csv (12,223 out-of-domain).

Protocol (the user-path check ../shared/check/kochat-demo):
- split: in each intent file (rows as csv.DictReader reads them), every 5th row (index % 5 == 2)
  tests and the rest train; rows whose word and tag counts differ are left out. The out-of-domain
  file alternates: even rows are the bot's out-of-domain data (malmoi calibrates its fallback on
  a held-out share of them), odd rows test;
- the bot: ``data/intents/<intent>.csv`` + ``data/ood/ood.csv``, Korean, bot.yaml without settings
  (or a variant's). The public data holds rows that malmoi refuses (bad tag sequences, an
  utterance under two intents): as in the check, when ``malmoi train`` refuses, the rows that
  ``malmoi validate`` names as errors are deleted and training runs once more; they are listed in
  the result (``rows_dropped``) and the second run's time is the training time;
- ``malmoi parse`` on the in-domain test rows and the out-of-domain test half;
- intent accuracy (the check's): the top intent is right, fallback or not; in-domain accuracy:
  right and no fallback; fallback accuracy: in-domain test rows kept plus out-of-domain test rows
  refused, over both; out-of-domain recall / precision, false-fallback rate; AUROC of
  ``intent_ranking[0].confidence`` (the parse output has no in-domain score);
- entity P/R/F1: exact (start, end, type) character spans of the space-joined words, micro, and
  per type;
- parse p50/p99: one-utterance ``Model.parse`` through the Python API on one thread
  (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``) in a fresh process: every 13th in-domain
  test row, at most 300, after 20 warm-up parses (as the check's ``latency_ms``);
- model size: the bytes of the model folder; memory: in a fresh one-thread process, resident
  memory (psutil) after ``malmoi.load`` and one parse, minus that after ``import malmoi`` and a
  warm-up of the Korean tokenizer (Kiwi), i.e. what one more loaded model costs.

Run (full):
    python bench/kochat_demo.py [--variant ce='{"intent": {"loss": "cross_entropy"}}' ...]
Smoke test:
    OMP_NUM_THREADS=1 python bench/kochat_demo.py --limit 100
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import _userpath as up

DATA = up.DATA / "kochat-demo"
COLUMNS = ["name", "intent_accuracy", "in_domain_accuracy", "fallback_accuracy", "false_fallback_rate",
           "oos_recall", "entity_f1", "train_seconds", "parse_p50_ms", "parse_p99_ms", "model_mb", "model_rss_mb"]


def load(limit: int | None) -> dict[str, Any]:
    train: list[up.Example] = []
    test: list[up.Example] = []
    mismatched = 0
    for f in sorted((DATA / "raw").glob("*.csv")):
        with open(f, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for i, r in enumerate(rows):
            words, tags = r["question"].split(), r["label"].split()
            if len(words) != len(tags):
                mismatched += 1
                continue
            (test if i % 5 == 2 else train).append((words, f.stem, tags))
    with open(DATA / "ood" / "ood_data.csv", encoding="utf-8", newline="") as handle:
        ood = [r["question"] for r in csv.DictReader(handle)]
    ood_bot, ood_test = ood[0::2], ood[1::2]
    return {
        "train": up.per_intent(train, lambda x: x[1], limit),
        "test": up.spread(test, limit),
        "ood": up.spread(ood_bot, limit),
        "ood_test": up.spread(ood_test, limit),
        "mismatched": mismatched,
    }


def figures(results: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    test = data["test"]
    ind, ood = results[: len(test)], results[len(test) :]
    right = [up.top1_of(r) == x[1] for r, x in zip(ind, test)]
    kept = sum(not r.get("fallback") for r in ind) + sum(bool(r.get("fallback")) for r in ood)
    entities = up.span_scores([up.predicted_spans(r) for r in ind],
                              [up.spans_from_tags(words, tags or []) for words, _, tags in test])
    return {
        "intent_accuracy": sum(right) / len(test),
        "in_domain_accuracy": sum(ok and not r.get("fallback") for ok, r in zip(right, ind)) / len(test),
        "fallback_accuracy": kept / (len(ind) + len(ood)),
        **up.fallback_scores(ind, ood),
        "entity_f1": entities["f1"],
        "entity_precision": entities["precision"],
        "entity_recall": entities["recall"],
        "entity_per_type": entities["per_type"],
    }


def main() -> None:
    parser = up.parser(__doc__, "kochat_demo")
    args = parser.parse_args()

    data = load(args.limit)
    print(f"Kochat demo: {len(data['train'])} training rows, {len(data['ood'])} out-of-domain; test "
          f"{len(data['test'])} + {len(data['ood_test'])} out-of-domain; {data['mismatched']} rows left out "
          "(word and tag counts differ)", flush=True)
    texts = [" ".join(words) for words, _, _ in data["test"]]

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_csv(bot, data["train"], data["ood"], language="ko", name="kochat-demo", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, texts + data["ood_test"], timeout=args.timeout)
        latency = up.latency_ms(trained.model, texts[::13])
        memory = up.loaded_model_memory(trained.model, "ko", "내일 서울 날씨 알려줘")
        return {**figures(results, data), "parse_p50_ms": latency["p50_ms"], "parse_p99_ms": latency["p99_ms"],
                "latency": latency, "model_mb": up.directory_mb(trained.model), "model_rss_mb": memory["model_rss_mb"],
                "memory": memory}, seconds

    rows = up.run_all(up.workdir("kochat-demo"), up.runs(args.variant), write_bot, evaluate, timeout=args.timeout)

    print()
    print(up.format_table([r for r in rows if "error" not in r], COLUMNS))
    default = rows[0]
    print()
    print(up.format_table([{"type": t, **m} for t, m in default["entity_per_type"].items()],
                          ["type", "precision", "recall", "f1", "support"]))
    if default["rows_dropped"]:
        print(f"\nmalmoi refused {len(default['rows_dropped'])} rows; dropped as `malmoi validate` named them: "
              + ", ".join(default["rows_dropped"]))
    up.save(args.out, up.result(
        "kochat-demo",
        "intent files: row index % 5 == 2 tests, the rest train; ood file: even rows are the bot's "
        "out-of-domain data, odd rows test; rows malmoi refuses are dropped as `malmoi validate` names them; "
        "intent accuracy = top intent right (fallback or not); entity F1 = exact character spans; latency "
        "and memory through the Python API, one thread",
        args,
        data={"train": len(data["train"]), "train_ood": len(data["ood"]), "test": len(data["test"]),
              "ood_test": len(data["ood_test"]), "rows_left_out_tag_count": data["mismatched"]},
        rows=rows,
    ))


if __name__ == "__main__":
    main()
