"""Kochat demo benchmark: intent accuracy, entity F1, fallback detection, speed and size.

Reads ../shared/data/kochat-demo by path (never copied into the repo):
- each intent file (raw/*.csv) is split 80/20 with a fixed seed: 80 % trains, 20 % tests;
- the out-of-domain file (ood/ood_data.csv) is split the same way: its 80 % is the bot's
  out-of-domain data (malmoi holds out 10 % of that internally to calibrate the fallback
  threshold and trains on the rest), its 20 % is only ever seen at test time.

Besides the main figures (default settings), one row per intent loss and a classical
baseline (word 1-2-gram + character 2-5-gram TF-IDF, logistic regression, max-probability
threshold chosen by macro-F1 on a held-out 10 % of the training data) on the same split.

Run:  python bench/kochat_demo.py [--data ../shared/data/kochat-demo] [--out bench/results/kochat_demo.json]
                                  [--losses cosface,center,coco,gaussian_mixture,cross_entropy | none]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import malmoi
from malmoi.data import load_ood_file, read_intent_file
from malmoi.data.schema import BotData
from malmoi.evaluate import evaluate, format_table
from malmoi.settings import BotConfig

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "kochat-demo"


def split(items: list, seed: int, test_fraction: float = 0.2) -> tuple[list, list]:
    items = items[:]
    random.Random(seed).shuffle(items)
    n_test = round(len(items) * test_fraction)
    return items[n_test:], items[:n_test]


def load_split(data_dir: Path, seed: int) -> tuple[BotData, BotData, list[str]]:
    """Train and test data, and the rows left out because their tags are invalid."""
    train, test = BotData(), BotData()
    left_out = []
    for path in sorted((data_dir / "raw").glob("*.csv")):
        examples, problems = read_intent_file(path)
        left_out += sorted({f"{p.file}:{p.line}" for p in problems if p.severity == "error"})
        a, b = split(examples, seed)
        train.examples += a
        test.examples += b
    ood = load_ood_file(data_dir / "ood" / "ood_data.csv")
    train.ood, test.ood = split(ood, seed)
    return train, test, left_out


def parse_latency(model: malmoi.Model, texts: list[str], n: int = 2000) -> dict[str, float]:
    """Per-call latency of ``model.parse`` on one thread, after a warm-up."""
    torch.set_num_threads(1)
    for text in texts[:50]:
        model.parse(text)
    timings = []
    for i in range(n):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        model.parse(text)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[int(0.99 * len(timings)) - 1],
        "mean_ms": statistics.fmean(timings),
        "calls": n,
    }


def serving_memory_mb(model_dir: Path) -> float:
    """Peak resident memory of a fresh process that loads the model and parses once."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    code = (
        f"import re, malmoi; m = malmoi.load({str(model_dir)!r}); m.parse('내일 서울 날씨 알려줘'); "
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def directory_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


LOSSES = ["cosface", "center", "coco", "gaussian_mixture", "cross_entropy"]
LOSS_COLUMNS = ["system", "intent_accuracy", "in_domain_accuracy", "fallback_accuracy", "false_fallback_rate",
                "ood_recall", "ood_precision", "auroc", "entity_f1", "train_seconds"]


def loss_row(name: str, metrics: dict, train_seconds: float) -> dict:
    fallback = metrics["fallback"]
    return {
        "system": name,
        "intent_accuracy": metrics["intent_accuracy"],
        "in_domain_accuracy": metrics["in_domain_accuracy"],
        "fallback_accuracy": fallback["accuracy"],
        "false_fallback_rate": fallback["false_fallback_rate"],
        "ood_recall": fallback["ood_recall"],
        "ood_precision": fallback["ood_precision"],
        "auroc": fallback["auroc"],
        "entity_f1": metrics["entity"]["f1"],
        "threshold": metrics["threshold"],
        "train_seconds": round(train_seconds, 1),
    }


def baseline_row(train: BotData, test: BotData, seed: int) -> dict:
    """TF-IDF + logistic regression; threshold by macro-F1 on 10 % of the training data held out."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    from malmoi.evaluate import auroc, fallback_metrics
    from malmoi.intent.fallback import macro_f1_threshold

    started = time.perf_counter()
    fit_examples, held_out = split(train.examples, seed + 1, 0.1)
    _, held_out_ood = split(train.ood, seed + 1, 0.1)
    vectorizer = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    classifier = LogisticRegression(C=10.0, max_iter=2000).fit(
        vectorizer.fit_transform([e.text for e in fit_examples]), [e.intent for e in fit_examples]
    )
    train_seconds = time.perf_counter() - started

    def score(examples):
        probabilities = classifier.predict_proba(vectorizer.transform([e.text for e in examples]))
        return probabilities.max(1), classifier.classes_[probabilities.argmax(1)]

    threshold = macro_f1_threshold(score(held_out)[0], score(held_out_ood)[0])
    id_scores, predicted = score(test.examples)
    ood_scores, _ = score(test.ood)
    correct = predicted == np.array([e.intent for e in test.examples])
    fallback = fallback_metrics(id_scores < threshold, ood_scores < threshold)
    fallback["auroc"] = auroc(id_scores, ood_scores)
    metrics = {"intent_accuracy": float(correct.mean()),
               "in_domain_accuracy": float((correct & (id_scores >= threshold)).mean()),
               "fallback": fallback, "entity": {"f1": float("nan")}, "threshold": threshold}
    return loss_row("TF-IDF + LogReg (no entities)", metrics, train_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "kochat_demo.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--losses", default=",".join(LOSSES),
                        help="comma-separated intent losses for the per-loss table, or 'none'")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false", help="skip the TF-IDF baseline")
    args = parser.parse_args()

    train_data, test_data, left_out = load_split(args.data, args.seed)
    if left_out:
        print(f"left out {len(left_out)} row(s) with invalid tags: {', '.join(left_out)}", file=sys.stderr)
    config = BotConfig(name="kochat-demo", language="ko")
    torch.set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    model = malmoi.train((config, train_data), progress=sys.stderr.isatty())
    train_seconds = time.perf_counter() - started
    train_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    metrics = evaluate(model, test_data.examples, test_data.ood)
    latency = parse_latency(model, [e.text for e in test_data.examples])
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.save(Path(tmp) / "model")
        size_mb = directory_mb(model_dir)
        serve_mb = serving_memory_mb(model_dir)

    fallback = metrics["fallback"]
    result = {
        "benchmark": "kochat-demo",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"torch {torch.__version__}",
        "malmoi_version": malmoi.__version__,
        "split": {
            "seed": args.seed,
            "intent_files": "80/20 per file",
            "ood_file": "80/20; malmoi holds out 10% of the 80% to calibrate the threshold",
            "train_examples": len(train_data.examples),
            "train_ood": len(train_data.ood),
            "test_examples": len(test_data.examples),
            "test_ood": len(test_data.ood),
            "rows_left_out_invalid_tags": left_out,
        },
        "intent_accuracy": metrics["intent_accuracy"],
        "in_domain_accuracy": metrics["in_domain_accuracy"],
        "entity_f1": metrics["entity"]["f1"],
        "entity_precision": metrics["entity"]["precision"],
        "entity_recall": metrics["entity"]["recall"],
        "fallback_accuracy": fallback["accuracy"],
        "false_fallback_rate": fallback["false_fallback_rate"],
        "ood_recall": fallback["ood_recall"],
        "ood_precision": fallback["ood_precision"],
        "auroc": fallback["auroc"],
        "threshold": metrics["threshold"],
        "train_seconds": train_seconds,
        "epochs_run": model.report["epochs_run"],
        "parse_latency": latency,
        "model_size_mb": size_mb,
        "peak_memory_train_mb": train_peak_mb,
        "peak_memory_serve_mb": serve_mb,
    }
    rows = [
        ("intent accuracy", result["intent_accuracy"], ">= 0.99"),
        ("entity F1 (exact span+type)", result["entity_f1"], ">= 0.95"),
        ("fallback detection accuracy", result["fallback_accuracy"], ">= 0.94"),
        ("  false fallback rate (in-domain)", result["false_fallback_rate"], ""),
        ("  out-of-domain recall", result["ood_recall"], ""),
        ("  AUROC", result["auroc"], ""),
        ("training wall time (s)", result["train_seconds"], "<= 180"),
        ("parse p50 (ms, 1 thread)", latency["p50_ms"], "<= 3"),
        ("parse p99 (ms, 1 thread)", latency["p99_ms"], ""),
        ("model size on disk (MB)", size_mb, ""),
        ("peak memory, training process (MB)", train_peak_mb, ""),
        ("peak memory, serving process (MB)", serve_mb, ""),
    ]
    print(format_table([{"metric": m, "value": v, "target": t} for m, v, t in rows], ["metric", "value", "target"]))

    # Per-loss table: the default run is reused for its loss; every other loss trains anew.
    default_loss = config.settings.intent.loss
    per_loss = []
    for loss in [] if args.losses == "none" else [x for x in args.losses.split(",") if x]:
        if loss == default_loss:
            per_loss.append(loss_row(f"malmoi {loss} (default)", metrics, train_seconds))
            continue
        loss_config = BotConfig.model_validate(
            {"name": "kochat-demo", "language": "ko", "settings": {"intent": {"loss": loss}}}
        )
        torch.set_num_threads(os.cpu_count() or 1)
        started = time.perf_counter()
        loss_model = malmoi.train((loss_config, train_data), progress=sys.stderr.isatty())
        loss_seconds = time.perf_counter() - started
        loss_metrics = evaluate(loss_model, test_data.examples, test_data.ood)
        per_loss.append(loss_row(f"malmoi {loss}", loss_metrics, loss_seconds))
    if args.baseline:
        per_loss.append(baseline_row(train_data, test_data, args.seed))
    if per_loss:
        result["per_loss"] = per_loss
        print()
        print(format_table(per_loss, LOSS_COLUMNS))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(f"\nsaved {args.out}")


if __name__ == "__main__":
    main()
