"""CLINC150 benchmark: in-scope accuracy and out-of-scope detection, one row per intent loss.

Data: Larson et al. 2019, "An Evaluation Dataset for Intent Classification and Out-of-Scope
Prediction", the "Full" split, read by path from ../shared/data/clinc150/data_full.json.

Protocol (the paper's):
- train on ``train`` (15,000 utterances, 150 intents); runs marked "oos-train" also give malmoi
  ``oos_train`` (100) as the bot's out-of-domain data, runs marked "no oos" see none at all;
- settings are fixed beforehand and the fallback threshold is chosen on ``val`` (3,000 in-scope
  + 100 out-of-scope) with ``Model.calibrate``: by the bot's criterion (macro-F1) when the run
  may use out-of-scope data, by the false-fallback rate on in-scope ``val`` alone when not;
- everything is reported on ``test`` (4,500 in-scope + 1,000 out-of-scope).

Metrics: in-scope accuracy (right intent and no fallback, the paper's definition), out-of-scope
recall / precision / F1 (out-of-scope = fallback), AUROC of the in-domain score, training time.
The classical baseline runs in the same process: word 1-2-gram + character 2-5-gram TF-IDF,
logistic regression, max-probability threshold chosen on ``val`` the same two ways.

Run:  python bench/clinc150.py [--losses cosface,center,...] [--encoders cnn,bilstm] [--no-baseline]
      (English: the bot's language is "en", which uses malmoi's Unicode tokenizer)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import malmoi
from malmoi.data.schema import BotData, Example
from malmoi.evaluate import auroc, evaluate, format_table
from malmoi.intent.fallback import choose_threshold
from malmoi.metrics import prf
from malmoi.settings import BotConfig

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "clinc150" / "data_full.json"
LOSSES = ["cosface", "center", "coco", "gaussian_mixture", "cross_entropy"]

# Larson et al. 2019, Table 2, "Full": in-scope accuracy / out-of-scope recall, in %.
PUBLISHED = [
    ("BERT (oos-train)", 96.9, 40.3),
    ("BERT (threshold)", 96.2, 52.3),
    ("MLP on USE", 93.5, 47.4),
    ("Rasa", 91.5, 45.3),
    ("CNN", 91.2, 18.9),
    ("FastText", 89.0, 9.7),
]


def load(path: Path) -> dict[str, list[Example]]:
    raw = json.loads(path.read_text("utf-8"))
    return {split: [Example(text, None if label == "oos" else label) for text, label in rows]
            for split, rows in raw.items()}


def summarize(name: str, in_scope_correct: np.ndarray, ood_flagged: np.ndarray, id_flagged: np.ndarray,
              id_scores: np.ndarray, ood_scores: np.ndarray, threshold: float, train_seconds: float,
              **extra: Any) -> dict[str, Any]:
    caught, false_alarms = int(ood_flagged.sum()), int(id_flagged.sum())
    oos = prf(caught, len(ood_flagged), caught + false_alarms)
    return {
        "system": name,
        "in_scope_accuracy": float(in_scope_correct.mean()),
        "oos_recall": oos["recall"],
        "oos_precision": oos["precision"],
        "oos_f1": oos["f1"],
        "false_fallback_rate": float(id_flagged.mean()),
        "auroc": auroc(id_scores, ood_scores),
        "threshold": threshold,
        "train_seconds": round(train_seconds, 1),
        **extra,
    }


def run_malmoi(
    name: str, settings: dict[str, Any], splits: dict[str, list[Example]], *, use_oos: bool
) -> dict[str, Any]:
    config = BotConfig.model_validate({"name": "clinc150", "language": "en", "settings": settings})
    data = BotData(examples=splits["train"], ood=splits["oos_train"] if use_oos else [])
    started = time.perf_counter()
    model = malmoi.train((config, data), progress=sys.stderr.isatty())
    train_seconds = time.perf_counter() - started
    # The threshold is chosen on val: with its out-of-scope part only when the run may use such data.
    model.calibrate([e.text for e in splits["val"]], [e.text for e in splits["oos_val"]] if use_oos else ())
    report = evaluate(model, splits["test"], splits["oos_test"])
    raw_accuracy = report["intent_accuracy"]
    fallback = report["fallback"]
    return {
        "system": name,
        "in_scope_accuracy": report["in_domain_accuracy"],
        "oos_recall": fallback["ood_recall"],
        "oos_precision": fallback["ood_precision"],
        "oos_f1": fallback["ood_f1"],
        "false_fallback_rate": fallback["false_fallback_rate"],
        "auroc": fallback["auroc"],
        "threshold": model.threshold,
        "train_seconds": round(train_seconds, 1),
        "accuracy_without_fallback": raw_accuracy,
        "calibration": model.report["calibration"]["method"],
        "epochs_run": model.report["epochs_run"],
        "settings": settings,
    }


def run_baseline(splits: dict[str, list[Example]]) -> list[dict[str, Any]]:
    """TF-IDF (word 1-2-grams + char 2-5-grams) + logistic regression, max-probability threshold."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    texts = lambda split: [e.text for e in splits[split]]  # noqa: E731
    started = time.perf_counter()
    vectorizer = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    features = vectorizer.fit_transform(texts("train"))
    # C = 10: TF-IDF rows are L2-normalized, so sklearn's default C = 1 underfits 150 classes.
    classifier = LogisticRegression(C=10.0, max_iter=2000).fit(features, [e.intent for e in splits["train"]])
    train_seconds = time.perf_counter() - started

    def score(split: str) -> tuple[np.ndarray, np.ndarray]:
        probabilities = classifier.predict_proba(vectorizer.transform(texts(split)))
        return probabilities.max(1), classifier.classes_[probabilities.argmax(1)]

    val_id, _ = score("val")
    val_ood, _ = score("oos_val")
    test_id, predicted = score("test")
    test_ood, _ = score("oos_test")
    correct = predicted == np.array([e.intent for e in splits["test"]])
    rows = []
    choices = [("oos val", val_ood, "macro_f1"), ("no oos", None, "false_fallback_rate")]
    for label, ood_for_threshold, criterion in choices:
        threshold, how = choose_threshold(val_id, ood_for_threshold, criterion=criterion)
        rows.append(summarize(
            f"TF-IDF + LogReg, threshold: {label}", correct & (test_id >= threshold), test_ood < threshold,
            test_id < threshold, test_id, test_ood, threshold, train_seconds,
            accuracy_without_fallback=float(correct.mean()), calibration=how,
        ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "clinc150.json")
    parser.add_argument("--losses", default=",".join(LOSSES), help="comma-separated; 'none' for no per-loss rows")
    parser.add_argument("--encoders", default="cnn,bilstm", help="encoders compared with the default loss")
    parser.add_argument("--no-oos-run", dest="no_oos", action="store_false",
                        help="skip the run without out-of-scope data")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--settings", default="{}", help="JSON merged into every run's settings")
    parser.add_argument("--intents", type=int, default=0,
                        help="keep only the first N intents (a quick smoke run); 0: all 150")
    parser.add_argument("--merge", nargs="*", type=Path, default=[],
                        help="result files of other runs (say, losses run in parallel) whose rows join this table")
    args = parser.parse_args()

    torch.set_num_threads(os.cpu_count() or 1)
    splits = load(args.data)
    if args.intents:
        keep = sorted({e.intent for e in splits["train"]})[: args.intents]
        splits = {k: [e for e in v if e.intent is None or e.intent in keep] for k, v in splits.items()}
    base = json.loads(args.settings)
    runs: list[tuple[str, dict[str, Any], bool]] = []
    losses = [] if args.losses == "none" else [x for x in args.losses.split(",") if x]
    for loss in losses:
        intent = {**base.get("intent", {}), "loss": loss}
        runs.append((f"malmoi cnn + {loss}, oos-train", {**base, "intent": intent}, True))
    for encoder in [x for x in args.encoders.split(",") if x and x != "cnn"]:
        encoder_settings = {**base.get("encoder", {}), "kind": encoder}
        runs.append((f"malmoi {encoder} + cosface, oos-train", {**base, "encoder": encoder_settings}, True))
    if args.no_oos:
        runs.append(("malmoi cnn + cosface, no oos", base, False))

    rows: list[dict[str, Any]] = []
    if args.baseline:
        rows += run_baseline(splits)
        print(format_table(rows[-2:], ["system", "in_scope_accuracy", "oos_recall", "auroc"]), flush=True)
    for name, settings, use_oos in runs:
        rows.append(run_malmoi(name, settings, splits, use_oos=use_oos))
        columns = ["system", "in_scope_accuracy", "oos_recall", "auroc", "train_seconds"]
        print(format_table(rows[-1:], columns), flush=True)

    for path in args.merge:
        rows += json.loads(path.read_text("utf-8"))["rows"]
    columns = ["system", "in_scope_accuracy", "oos_recall", "oos_precision", "oos_f1", "false_fallback_rate",
               "auroc", "train_seconds"]
    published = [{"system": f"{n} (Larson et al. 2019)", "in_scope_accuracy": a / 100, "oos_recall": r / 100}
                 for n, a, r in PUBLISHED]
    print()
    print(format_table(rows + published, columns))
    result = {
        "benchmark": "clinc150-full",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"torch {torch.__version__}",
        "malmoi_version": malmoi.__version__,
        "protocol": "train on train (+ oos_train for oos-train runs); threshold chosen on val; reported on test",
        "rows": rows,
        "published": published,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(f"\nsaved {args.out}")


if __name__ == "__main__":
    main()
