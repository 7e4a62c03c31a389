"""The default model's members on one bot directory: the linear floor, the neural head, their blend.

The default model holds the linear floor (``linear-floor.v1``: logistic regression on malmoi's own
TF-IDF n-grams, :mod:`malmoi.intent.linear`) beside the neural head and ranks intents by their
blend, learned on training's held-out share (:mod:`malmoi.model.stacking`). This benchmark trains
the default model once, on the same bot directory and test split as the user-path benchmark of
``--data``, and scores the test split with each member alone and with the blend:

- ``floor``: the model's floor part alone (top-1: its best-ranked intent);
- ``neural``: the model's neural head alone (its best-ranked intent);
- ``default (blend)``: what ``parse`` answers: the blend's ranking and the model's own fallback;
- ``sklearn floor``: the benchmarks' classical floor (TF-IDF of the raw text, scikit-learn), top-1.

The report's held-out figures (``report.floor``: top-1 of each member and of the blend, the AUROC
of each in-domain score, the blend's weights) are copied into the result. in-scope accuracy: right
intent and no fallback; top-1: right best-ranked intent, fallback or not; out-of-scope recall:
share of out-of-domain test utterances that fall back.

Run:
    python bench/floor_blend.py --data clinc150 [--out bench/results/floor_blend_clinc150_default.json]

(``floor_blend_<data>.json`` without ``_default``: the prototype's measurements before the floor was
a part, with floors and blends fitted outside the model; git history has that version of this file.)
    OMP_NUM_THREADS=1 python bench/floor_blend.py --data parakqc --limit 5 --intents 30   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

import _userpath as up

DATASETS = ("kochat", "clinc150", "parakqc", "snips")
COLUMNS = ["name", "top1_accuracy", "in_scope_accuracy", "oos_recall", "false_fallback_rate", "seconds"]


# --- data: the user-path benchmarks' own loaders --------------------------------------------------


def load(name: str, limit: int | None, intents: int | None) -> dict[str, Any]:
    """``train`` (words, intent, tags), ``ood`` texts, ``test`` (text, intent, gold spans or None),
    ``ood_test`` texts, ``language``."""
    if name == "kochat":
        import kochat_demo

        d = kochat_demo.load(limit)
        test = [(" ".join(w), i, up.spans_from_tags(w, t or [])) for w, i, t in d["test"]]
        return {"train": d["train"], "ood": d["ood"], "test": test, "ood_test": d["ood_test"], "language": "ko"}
    if name == "clinc150":
        import clinc150

        d = clinc150.load(intents, limit, no_ood=False)
        return {"train": d["train"], "ood": d["ood"], "test": [(t, i, None) for t, i in d["test"]],
                "ood_test": d["oos_test"], "language": "en"}
    if name == "parakqc":
        import parakqc

        train, test = parakqc.load(intents, limit)
        return {"train": train, "ood": [], "test": [(" ".join(w), i, None) for w, i, _ in test], "ood_test": [],
                "language": "ko"}
    if name == "snips":
        import snips

        train = up.per_intent(snips.load("train") + snips.load("valid"), lambda x: x[1], limit)
        test = up.spread(snips.load("test"), limit)
        return {"train": train, "ood": [], "language": "en", "ood_test": [],
                "test": [(" ".join(w), i, up.spans_from_tags(w, t or [])) for w, i, t in test]}
    raise SystemExit(f"unknown --data {name!r}; one of {', '.join(DATASETS)}")


# --- the rows -------------------------------------------------------------------------------------


def measure(model: Any, data: dict[str, Any], docs: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Rows floor / neural / default (blend) for a trained default model."""
    index = {n: i for i, n in enumerate(model.intents)}
    gold = np.array([index[i] for _, i, _ in data["test"]])
    floor = model.floor
    if floor is None:
        raise SystemExit("the default model has no linear floor (lexical: none, or no held-out share)")

    def members(batch: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        if not batch:
            return np.zeros((0, len(index))), np.zeros((0, len(index)))
        _, sentences = model.sentences(batch)
        neural = model.scorer.scores(sentences).logits
        return neural, floor.scores([model.lexical.transform(d) for d in batch])

    neural, linear = members(docs["test"])
    parsed, parsed_ood = model.parse_docs(docs["test"]), model.parse_docs(docs["ood_test"])
    ranked = np.array([index[r.intent_ranking[0].name] for r in parsed])
    kept = np.array([not r.fallback for r in parsed])
    rows: list[dict[str, Any]] = [
        {"name": "floor (logreg on malmoi n-grams, the model's part)",
         "top1_accuracy": float((linear.argmax(1) == gold).mean())},
        {"name": "neural head alone (the model's part)", "top1_accuracy": float((neural.argmax(1) == gold).mean())},
        {"name": "default (blend; what parse answers)", "top1_accuracy": float((ranked == gold).mean()),
         "in_scope_accuracy": float(((ranked == gold) & kept).mean()), "false_fallback_rate": float((~kept).mean()),
         **({"oos_recall": float(np.mean([r.fallback for r in parsed_ood]))} if parsed_ood else {}),
         "seconds": model.report.get("train_seconds")},
    ]
    return rows


def entity_f1(model: Any, data: dict[str, Any], docs: list[Any]) -> float | None:
    if data["test"][0][2] is None:
        return None
    tp = n_pred = n_gold = 0
    for result, (_, _, gold) in zip(model.parse_docs(docs), data["test"]):
        found = {(e.start, e.end, e.entity) for e in result.entities}
        tp, n_pred, n_gold = tp + len(found & gold), n_pred + len(found), n_gold + len(gold)
    return up.prf(tp, n_pred, n_gold)[2]


def sklearn_floor(data: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    clf = up.classical_intent_model().fit([" ".join(w) for w, _, _ in data["train"]], [x[1] for x in data["train"]])
    predicted = clf.predict([t for t, _, _ in data["test"]])
    top1 = float(np.mean([p == i for p, (_, i, _) in zip(predicted, data["test"])]))
    return {"name": "sklearn floor (TF-IDF of raw text, bench/_userpath.py), top-1 only", "top1_accuracy": top1,
            "model": up.CLASSICAL_INTENT, "seconds": round(time.perf_counter() - started, 2)}


def load_examples(bot: Path) -> tuple[Any, Any, list[str]]:
    """The bot as ``malmoi train`` reads it; rows ``malmoi validate`` calls errors are dropped first."""
    from malmoi.data import DataError, load_bot

    try:
        config, data = load_bot(bot)
        return config, data, []
    except DataError:
        dropped = up.drop_error_rows(bot, timeout=3600)
        config, data = load_bot(bot)
        return config, data, dropped


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", choices=DATASETS, required=True)
    p.add_argument("--out", type=Path, help="result JSON (default bench/results/floor_blend_<data>_default.json)")
    p.add_argument("--limit", type=up.limit_type, help="smoke test: N training utterances per intent, N test")
    p.add_argument("--intents", type=int, help="smoke test: only the first N intents (clinc150, parakqc)")
    p.add_argument("--no-baseline", dest="baseline", action="store_false", help="skip the sklearn floor")
    p.add_argument("--model", type=Path, help="measure this trained model (e.g. the check's) instead of training one")
    args = p.parse_args()
    out = args.out or up.RESULTS / f"floor_blend_{args.data}_default.json"

    from malmoi.model.model import Model

    data = load(args.data, args.limit, args.intents)
    loadavg = [os.getloadavg()]
    examples: list[Any] = []
    ood: list[Any] = []
    dropped: list[str] = []
    if args.model:
        model = Model.load(args.model)
    else:
        work = up.workdir(f"floor-blend-{args.data}")
        up.write_bot_csv(work / "bot", data["train"], data["ood"], language=data["language"], name=args.data,
                         settings={})
        config, bot_data, dropped = load_examples(work / "bot")
        examples, ood = list(bot_data.examples), list(bot_data.ood)
        print(f"{args.data}: {len(examples)} training utterances, {len(ood)} out-of-domain; test "
              f"{len(data['test'])} + {len(data['ood_test'])} out-of-domain; {len(dropped)} rows dropped", flush=True)
        started = time.perf_counter()
        model = Model(config).fit(examples, ood)
        print(f"trained in {time.perf_counter() - started:.1f} s", flush=True)
    docs = {"test": model.analyze([t for t, _, _ in data["test"]]), "ood_test": model.analyze(data["ood_test"])}
    rows = measure(model, data, docs)
    loadavg.append(os.getloadavg())
    if args.baseline:
        rows.append(sklearn_floor(data))
    print(up.format_table(rows, COLUMNS))
    floor = model.report.get("floor", {})
    print("held out:", json.dumps(floor.get("held_out")), "in-domain score:", floor.get("in_domain"),
          f"floor {floor.get('megabytes')} MB", flush=True)
    up.save(out, {
        "benchmark": f"floor-blend-{args.data}-default",
        "protocol": __doc__.split("Run:")[0].strip() if __doc__ else "",
        "command": up.command_line(),
        "model": str(args.model) if args.model else None,
        "machine": up.machine(),
        "load_average": loadavg,
        "limit": args.limit,
        "data": {"train": len(examples), "train_ood": len(ood), "test": len(data["test"]),
                 "ood_test": len(data["ood_test"]), "rows_dropped": dropped},
        "entity_f1": entity_f1(model, data, docs["test"]),
        "report_floor": floor,
        "calibration": model.report.get("calibration"),
        "rows": rows,
    })


if __name__ == "__main__":
    main()
