"""Label-noise cleaning: malmoi's PICO (``malmoi clean``) against cleanlab, on synthetic noise.

Protocol (issue 13):
- data: CLINC150 train/test (English, 150 intents, in-scope only), ParaKQC (Korean, 1,000 sets of
  10 paraphrases: 7 train, 3 test) and Kochat's demo intents (Korean, 4 intents; seeded 80/20);
- noise on the training labels, seeded: ``sym10``/``sym20``: 10 %/20 % of the examples get a
  uniformly drawn other intent; ``pair10``: 10 % flipped to the intent each one's own intent is most
  confused with (from out-of-fold probabilities of the same checker on the clean labels);
- PICO: :func:`malmoi.clean.find_label_issues` with default settings (3 splits x 5 folds, at most 2
  rounds, 2 worker processes), flagged = suspects (P(given wrong) >= 0.5);
- cleanlab: ``cleanlab.filter.find_label_issues`` (its defaults) on PICO's round-1 out-of-fold
  probabilities (the same checkers, same run); its score for AUROC is its label-quality score;
- metrics: detection precision, recall, F1 and AUROC against the flipped examples; accuracy of the
  suggested label on flipped examples that were flagged; downstream test accuracy of one checker
  (the same fast head, trained on all training rows) fitted on the clean, noisy and cleaned labels
  (PICO: suspects relabelled to the suggestion; cleanlab: flagged rows removed); share of the
  accuracy lost to noise that cleaning recovers; wall time.

Run:
    python bench/label_noise.py                      # clinc150 and parakqc at sym10 (the targets)
    python bench/label_noise.py --data kochat --noise sym10 sym20 pair10
    python bench/label_noise.py --data clinc150 --limit 20    # smoke run: 20 examples per intent
cleanlab (AGPL-3.0) is only a benchmark dependency (``pip install 'malmoi[bench-cleanlab]'``);
without it the PICO figures are still measured and the file says cleanlab was missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

import _userpath as up
from malmoi.clean import CleanSettings, build_checker, find_label_issues
from malmoi.data.schema import Example
from malmoi.text.doc import Analyzer

NOISES = ("sym10", "sym20", "pair10")
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)  # of P(given wrong): the operating curve, reported
COLUMNS = ["data", "noise", "method", "precision", "recall", "f1", "auroc", "suggestion_accuracy",
           "test_accuracy", "recovered", "seconds"]


def load(name: str, limit: int | None) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """(language, train, test) as (text, intent) pairs."""
    if name == "clinc150":
        data = json.loads((up.DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
        train = [(t, i) for t, i in data["train"]]
        test = [(t, i) for t, i in data["test"]]
        language = "en"
    elif name == "parakqc":
        lines = (up.DATA / "parakqc" / "paraKQC_v1.txt").read_text(encoding="utf-8").splitlines()
        rows = [line.split("\t")[2].strip() for line in lines if line.count("\t") >= 2]
        train = [(t, f"set{i // 10:04d}") for i, t in enumerate(rows) if i % 10 < 7]
        test = [(t, f"set{i // 10:04d}") for i, t in enumerate(rows) if i % 10 >= 7]
        language = "ko"
    elif name == "kochat":
        rows = []
        for path in sorted((up.DATA / "kochat-demo" / "raw").glob("*.csv")):
            with open(path, encoding="utf-8") as handle:
                rows += [(r["question"].strip(), path.stem) for r in csv.DictReader(handle) if r.get("question")]
        order = random.Random(0).sample(range(len(rows)), len(rows))
        cut = int(0.8 * len(rows))
        train, test = [rows[i] for i in order[:cut]], [rows[i] for i in order[cut:]]
        language = "ko"
    else:
        raise SystemExit(f"unknown data set {name!r}")
    train = [(" ".join(t.split()), i) for t, i in train if t.strip()]
    test = [(" ".join(t.split()), i) for t, i in test if t.strip()]
    if limit:
        train = up.per_intent(train, lambda x: x[1], limit)
    return language, train, test


def add_noise(labels: np.ndarray, classes: int, kind: str, rng: np.random.Generator,
              confused_with: np.ndarray | None) -> np.ndarray:
    rate = {"sym10": 0.1, "sym20": 0.2, "pair10": 0.1}[kind]
    noisy = labels.copy()
    flip = rng.choice(len(labels), round(rate * len(labels)), replace=False)
    if kind.startswith("sym"):
        shift = rng.integers(1, classes, len(flip))  # any other class, uniformly
        noisy[flip] = (labels[flip] + shift) % classes
    else:
        assert confused_with is not None
        noisy[flip] = confused_with[labels[flip]]
    return noisy


def detection(flagged: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((flagged & truth).sum())
    precision, recall, f1 = up.prf(tp, int(flagged.sum()), int(truth.sum()))
    return {"precision": precision, "recall": recall, "f1": f1,
            # P(a flipped example scores above a clean one): up.auroc's first group is the one ranked high.
            "auroc": up.auroc(scores[truth].tolist(), scores[~truth].tolist()), "flagged": int(flagged.sum())}


class Downstream:
    """Test accuracy of one checker fitted on all training rows with the given labels."""

    def __init__(self, checker: Any, features: Any, classes: int, train_rows: np.ndarray, test_rows: np.ndarray,
                 test_labels: np.ndarray, seed: int):
        self.checker, self.features, self.classes = checker, features, classes
        self.train_rows, self.test_rows, self.test_labels, self.seed = train_rows, test_rows, test_labels, seed

    def __call__(self, train_labels: np.ndarray, keep: np.ndarray | None = None) -> float:
        rows = self.train_rows if keep is None else self.train_rows[keep]
        targets = np.eye(self.classes, dtype=np.float32)[train_labels[rows]]
        probabilities = self.checker.fit_predict(self.features, rows, targets, self.test_rows, seed=self.seed)
        return float((probabilities.argmax(1) == self.test_labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=["clinc150", "parakqc"], choices=["clinc150", "parakqc", "kochat"])
    parser.add_argument("--noise", nargs="+", default=["sym10"], choices=NOISES)
    parser.add_argument("--limit", type=up.limit_type, help="training examples per intent (smoke runs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=CleanSettings().rounds)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="result file (default bench/results/label_noise.json)")
    args = parser.parse_args()
    try:
        import cleanlab.filter as cleanlab_filter

        cleanlab_version: str | None = __import__("cleanlab").__version__
    except ImportError:
        cleanlab_filter, cleanlab_version = None, None
        print("cleanlab is not installed (pip install 'malmoi[bench-cleanlab]'): measuring PICO alone")

    settings = CleanSettings(rounds=args.rounds, splits=args.splits, folds=args.folds, workers=args.workers,
                             seed=args.seed)
    rows: list[dict[str, Any]] = []
    for name in args.data:
        language, train, test = load(name, args.limit)
        intents = sorted({i for _, i in train})
        index = {n: k for k, n in enumerate(intents)}
        labels = np.array([index[i] for _, i in train])
        test = [(t, i) for t, i in test if i in index]
        test_labels = np.array([index[i] for _, i in test])
        print(f"\n== {name}: {len(train)} training utterances, {len(intents)} intents, {len(test)} test", flush=True)

        # Features once for the downstream model: the same checker, fitted on all training rows.
        checker = build_checker(settings)
        started = time.perf_counter()
        docs = Analyzer(language).many([t for t, _ in train] + [t for t, _ in test])
        features = checker.featurize(docs)
        train_rows, test_rows = np.arange(len(train)), np.arange(len(train), len(train) + len(test))
        print(f"features of train + test: {time.perf_counter() - started:.1f} s", flush=True)

        downstream = Downstream(checker, features, len(intents), train_rows, test_rows, test_labels, args.seed)

        clean_accuracy = downstream(labels)
        print(f"downstream accuracy on clean labels: {clean_accuracy:.4f}", flush=True)
        confused_with = None
        if "pair10" in args.noise:
            from malmoi.clean import pico

            oof = pico(checker, features.subset(train_rows), labels, len(intents), rounds=1, splits=1,
                       folds=settings.folds, workers=args.workers, seed=args.seed).first_votes
            confusion = np.zeros((len(intents), len(intents)))
            np.add.at(confusion, labels, oof)
            np.fill_diagonal(confusion, -1)
            confused_with = confusion.argmax(1)

        for noise in args.noise:
            rng = np.random.default_rng(args.seed + 1)
            noisy = add_noise(labels, len(intents), noise, rng, confused_with)
            truth = noisy != labels
            noisy_accuracy = downstream(noisy)
            examples = [Example(t, intents[k], (), f"{name}:{j}") for j, ((t, _), k) in enumerate(zip(train, noisy), 1)]
            print(f"-- {noise}: {int(truth.sum())} flipped; downstream on noisy labels {noisy_accuracy:.4f}",
                  flush=True)
            started = time.perf_counter()
            result = find_label_issues(examples, language, settings, progress=lambda m: print("  " + m, flush=True))
            pico_seconds = time.perf_counter() - started
            suggested = np.array([index[s] for s in result.suggested])
            flagged = (result.p_wrong >= settings.threshold) & (suggested != noisy)
            fixed = np.where(flagged, suggested, noisy)
            base = {"data": name, "noise": noise, "flipped": int(truth.sum()), "clean_accuracy": clean_accuracy,
                    "noisy_accuracy": noisy_accuracy}

            def recovered(accuracy: float, clean: float = clean_accuracy, noisy: float = noisy_accuracy) -> float:
                return (accuracy - noisy) / (clean - noisy) if clean > noisy else float("nan")

            pico_accuracy = downstream(fixed)
            row = {**base, "method": "pico", **detection(flagged, result.p_wrong, truth),
                   "suggestion_accuracy": float((suggested[flagged & truth] == labels[flagged & truth]).mean())
                   if (flagged & truth).any() else float("nan"),
                   "test_accuracy": pico_accuracy, "recovered": recovered(pico_accuracy),
                   "seconds": round(pico_seconds, 1), "rounds": result.pico.rounds,
                   "f1_by_threshold": {str(t): detection((result.p_wrong >= t) & (suggested != noisy), result.p_wrong,
                                                         truth)["f1"] for t in THRESHOLDS},
                   "f1_by_round": [detection((1 - q.probability(noisy) >= settings.threshold) & (q.argmax() != noisy),
                                             1 - q.probability(noisy), truth) for q in result.pico.history]}
            rows.append(row)
            print(up.format_table([row], COLUMNS), flush=True)

            # Round 1 alone: plain MultiSplit-Train-Check-Vote (majority of the mean votes).
            votes = result.pico.first_votes
            voted = votes.argmax(1)
            vote_flag = voted != noisy
            vote_accuracy = downstream(np.where(vote_flag, voted, noisy))
            found = vote_flag & truth
            rows.append({**base, "method": "vote (round 1)",
                         **detection(vote_flag, 1 - votes[np.arange(len(noisy)), noisy], truth),
                         "suggestion_accuracy": float((voted[found] == labels[found]).mean()),
                         "test_accuracy": vote_accuracy, "recovered": recovered(vote_accuracy),
                         "seconds": float("nan")})
            if cleanlab_filter is not None:
                started = time.perf_counter()
                issues = cleanlab_filter.find_label_issues(labels=noisy, pred_probs=votes)
                from cleanlab.rank import get_label_quality_scores

                quality = get_label_quality_scores(noisy, votes)
                cleanlab_seconds = time.perf_counter() - started
                cleanlab_accuracy = downstream(noisy, keep=~issues)
                given_best = votes.argmax(1)
                rows.append({**base, "method": "cleanlab", **detection(issues, 1 - quality, truth),
                             "suggestion_accuracy": float((given_best[issues & truth] == labels[issues & truth]).mean())
                             if (issues & truth).any() else float("nan"),
                             "test_accuracy": cleanlab_accuracy, "recovered": recovered(cleanlab_accuracy),
                             "seconds": round(cleanlab_seconds, 1),
                             "note": "on PICO's round-1 out-of-fold probabilities; flagged rows removed downstream"})
                relabelled = downstream(np.where(issues, given_best, noisy))
                rows[-1]["test_accuracy_relabelled"] = relabelled
            print(up.format_table([r for r in rows if r["data"] == name and r["noise"] == noise], COLUMNS), flush=True)

    print("\n" + up.format_table(rows, COLUMNS))
    out = args.out or up.RESULTS / ("label_noise.json" if not args.limit else "label_noise_smoke.json")
    protocol = (__doc__ or "").split("Run:")[0].strip()
    head = {"benchmark": "label_noise", "protocol": protocol, "command": up.command_line(), "machine": up.machine(),
            "limit": args.limit, "cleanlab": cleanlab_version or "not installed",
            "settings": settings.model_dump(mode="json")}
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    # Runs of other data sets or noises stay in the file; a rerun of one replaces its rows.
    measured = {(r["data"], r["noise"]) for r in rows}
    kept = [r for r in previous.get("runs", []) if (r["data"], r["noise"]) not in measured]
    up.save(out, {**head, "runs": kept + rows})


if __name__ == "__main__":
    main()
