"""Label-noise cleaning: malmoi's PICO (``malmoi clean``) against cleanlab, one cell at a time.

Protocol (issue 13):
- data: CLINC150 (English, 150 in-scope intents; its train / val / test splits), ParaKQC (Korean,
  1,000 sets of 10 paraphrases: paraphrases 1-7 train, 8 validation, 9-10 test) and Kochat's demo
  intents (Korean, 4 intents; seeded 80 / 10 / 10; the 26 texts filed under two intents are left
  out of the synthetic cells, whose truth they would blur);
- noise on the training labels only, seeded: ``sym10`` / ``sym20``: 10 % / 20 % of the examples get
  a uniformly drawn other intent; ``pair10``: 10 % flipped to the intent each one's own intent is
  most confused with (the confusion matrix of out-of-fold probabilities of the same checker on the
  clean labels, one split); ``real`` (Kochat only): no synthetic noise, all rows with their real
  labels, conflicting copies included: how malmoi clean resolves Kochat's real conflicts;
- PICO: :func:`malmoi.clean.find_label_issues` with default settings (3 splits x 5 folds, at most 2
  rounds, 2 worker processes), flagged = suspects (P(given wrong) >= 0.5);
- cleanlab: ``cleanlab.filter.find_label_issues`` (its defaults) on PICO's round-1 out-of-fold
  probabilities (the same checkers, same run); its score for AUROC is 1 - its label-quality score;
- detection: precision, recall, F1 and AUROC against the flipped examples; suggestion accuracy =
  share of the flagged flipped examples whose suggested label is the true one;
- downstream: the same fast checker (``lexical-head.v1``) fitted on all training rows of a cleaned
  training set, mean over ``--downstream-seeds`` seeds, accuracy on the validation and the test
  split. Cleaned sets: ``relabel`` (every suspect gets its suggestion: what ``--apply`` did),
  ``drop`` (suspects left out), ``confident`` (suspects whose suggestion has posterior >= 0.9
  relabelled, the other suspects left out), ``soft`` (every row trained on PICO's posterior
  distribution as soft targets), and cleanlab's flagged rows removed or relabelled to the votes'
  argmax; two diagnostics that read the truth (``oracle drop``: exactly the flipped rows left out;
  ``clean minus flagged``: true labels with PICO's suspects left out, the cost of the lost rows).
  recovered = (cleaned - noisy) / (clean - noisy). Which cleaned set is best is read on
  the validation split; the test split is reported, never used to choose;
- wall time of cleaning (features + checkers), on whatever else the machine was running.

Run one cell at a time (a CLINC150 cell takes minutes on 2 cores):
    python bench/label_noise.py --data clinc150 --noise sym10
    python bench/label_noise.py --data kochat --noise sym10 sym20 pair10 real
    python bench/label_noise.py --summary             # the table of every cell saved so far
    python bench/label_noise.py --data clinc150 --noise sym10 --limit 20   # smoke run (not saved with the cells)
Cells: bench/results/label_noise/DATA-NOISE.json; summary: bench/results/label_noise/summary.json.
cleanlab (AGPL-3.0) is only a benchmark dependency (``pip install 'malmoi[bench-cleanlab]'``);
without it the PICO figures are still measured and the cell says cleanlab was missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import _cli
import _userpath as up
from malmoi.clean import CheckerRunner, CleanSettings, build_checker, find_label_issues, pico
from malmoi.data.schema import Example
from malmoi.text.doc import Analyzer

DATASETS = ("clinc150", "parakqc", "kochat")
NOISES = ("sym10", "sym20", "pair10", "real")
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)  # of P(given wrong): the operating curve, reported
CONFIDENT = 0.9  # `confident`: a suspect is relabelled when its suggestion's posterior reaches this, else dropped
OUT_DIR = up.RESULTS / "label_noise"
# Training sets that are references, not cleaning methods: never "best on validation".
REFERENCES = ("clean", "noisy", "oracle drop", "clean minus flagged")
COLUMNS = ["data", "noise", "method", "precision", "recall", "f1", "auroc", "suggestion_accuracy", "seconds"]
DOWNSTREAM_COLUMNS = ["data", "noise", "training set", "val", "test", "recovered (val)", "recovered (test)"]

Pairs = list[tuple[str, str]]


def load(name: str, limit: int | None) -> tuple[str, Pairs, Pairs, Pairs, Pairs]:
    """(language, train, validation, test, conflicting rows) as (text, intent) pairs. Conflicting
    rows (a text under two intents) are Kochat's real ones, kept out of train/validation/test."""
    conflicts: Pairs = []
    if name == "clinc150":
        data = json.loads((up.DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
        train, val, test = ([(t, i) for t, i in data[split]] for split in ("train", "val", "test"))
        language = "en"
    elif name == "parakqc":
        lines = (up.DATA / "parakqc" / "paraKQC_v1.txt").read_text(encoding="utf-8").splitlines()
        rows = [line.split("\t")[2].strip() for line in lines if line.count("\t") >= 2]
        labelled = [(k % 10, (t, f"set{k // 10:04d}")) for k, t in enumerate(rows)]
        train = [row for k, row in labelled if k < 7]
        val = [row for k, row in labelled if k == 7]
        test = [row for k, row in labelled if k >= 8]
        language = "ko"
    elif name == "kochat":
        rows = []
        for path in sorted((up.DATA / "kochat-demo" / "raw").glob("*.csv")):
            with open(path, encoding="utf-8") as handle:
                rows += [(" ".join(r["question"].split()), path.stem) for r in csv.DictReader(handle)
                         if (r.get("question") or "").strip()]
        intents_of: dict[str, set[str]] = defaultdict(set)
        for text, intent in rows:
            intents_of[text].add(intent)
        conflicts = [(t, i) for t, i in rows if len(intents_of[t]) > 1]
        rows = [(t, i) for t, i in rows if len(intents_of[t]) == 1]
        order = random.Random(0).sample(range(len(rows)), len(rows))
        cut, cut2 = int(0.8 * len(rows)), int(0.9 * len(rows))
        train, val, test = ([rows[i] for i in order[a:b]] for a, b in ((0, cut), (cut, cut2), (cut2, len(rows))))
        language = "ko"
    else:
        raise SystemExit(f"unknown data set {name!r}")

    def tidy(pairs: Pairs) -> Pairs:
        return [(" ".join(t.split()), i) for t, i in pairs if t.strip() and i != "oos"]

    train, val, test = tidy(train), tidy(val), tidy(test)
    if limit:
        train = up.per_intent(train, lambda x: x[1], limit)
    return language, train, val, test, conflicts


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


def most_confused(checker: Any, features: Any, labels: np.ndarray, classes: int, settings: CleanSettings,
                  seed: int) -> np.ndarray:
    """For each intent, the other intent its examples are most confused with: the confusion matrix of
    out-of-fold probabilities of the checker on the clean labels (one split), its diagonal left out."""
    oof = pico(checker, features, labels, classes, rounds=1, splits=1, folds=settings.folds,
               workers=settings.workers, seed=seed).first_votes
    confusion = np.zeros((classes, classes))
    np.add.at(confusion, labels, oof)
    np.fill_diagonal(confusion, -1)
    return np.asarray(confusion.argmax(1))


def detection(flagged: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((flagged & truth).sum())
    precision, recall, f1 = up.prf(tp, int(flagged.sum()), int(truth.sum()))
    return {"precision": precision, "recall": recall, "f1": f1,
            # P(a flipped example scores above a clean one): up.auroc's first group is the one ranked high.
            "auroc": up.auroc(scores[truth].tolist(), scores[~truth].tolist()), "flagged": int(flagged.sum())}


def suggestion_accuracy(flagged: np.ndarray, suggested: np.ndarray, truth: np.ndarray, labels: np.ndarray) -> float:
    found = flagged & truth
    return float((suggested[found] == labels[found]).mean()) if found.any() else float("nan")


class Downstream:
    """Validation and test accuracy of the fast checker fitted on all training rows of a training
    set (hard labels, rows kept, or soft targets), mean over seeds; fits run side by side."""

    def __init__(self, runner: CheckerRunner, classes: int, n_train: int, val_rows: np.ndarray,
                 val_labels: np.ndarray, test_rows: np.ndarray, test_labels: np.ndarray, seeds: int):
        self.runner, self.classes, self.n_train, self.seeds = runner, classes, n_train, seeds
        self.val_rows, self.val_labels, self.test_rows, self.test_labels = val_rows, val_labels, test_rows, test_labels

    def score(self, sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, float]]:
        """``sets``: name -> (training rows, their targets (n, classes)). Returns name -> {val, test}."""
        evaluate = np.concatenate([self.val_rows, self.test_rows])
        tasks = [(rows, targets, evaluate, seed) for rows, targets in sets.values() for seed in range(self.seeds)]
        results = self.runner.map(tasks)
        scores: dict[str, dict[str, float]] = {}
        for k, name in enumerate(sets):
            val, test = [], []
            for probabilities in results[k * self.seeds : (k + 1) * self.seeds]:
                predicted = probabilities.argmax(1)
                val.append(float((predicted[: len(self.val_rows)] == self.val_labels).mean()))
                test.append(float((predicted[len(self.val_rows) :] == self.test_labels).mean()))
            scores[name] = {"val": float(np.mean(val)), "test": float(np.mean(test)),
                            "val_by_seed": val, "test_by_seed": test}
        return scores

    def hard(self, labels: np.ndarray, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(self.n_train) if keep is None else np.flatnonzero(keep)
        return rows, np.eye(self.classes, dtype=np.float32)[labels[rows]]


def run_cell(name: str, noise: str, args: argparse.Namespace, settings: CleanSettings,
             cleanlab_filter: Any) -> dict[str, Any]:
    language, train, val, test, conflicts = load(name, args.limit)
    if noise == "real":
        return run_real(name, language, train + val + test, conflicts, settings)
    intents = sorted({i for _, i in train})
    index = {n: k for k, n in enumerate(intents)}
    labels = np.array([index[i] for _, i in train])
    val = [(t, i) for t, i in val if i in index]
    test = [(t, i) for t, i in test if i in index]
    print(f"\n== {name} {noise}: {len(train)} training utterances, {len(intents)} intents, {len(val)} validation, "
          f"{len(test)} test", flush=True)
    checker = build_checker(settings)
    started = time.perf_counter()
    docs = Analyzer(language).many([t for t, _ in train + val + test])
    features = checker.featurize(docs)
    print(f"features of train + validation + test: {time.perf_counter() - started:.1f} s", flush=True)
    n = len(train)
    val_rows, test_rows = np.arange(n, n + len(val)), np.arange(n + len(val), n + len(val) + len(test))
    val_labels, test_labels = np.array([index[i] for _, i in val]), np.array([index[i] for _, i in test])

    confused_with = None
    if noise == "pair10":
        confused_with = most_confused(checker, features.subset(np.arange(n)), labels, len(intents), settings,
                                      args.seed)
    rng = np.random.default_rng(args.seed + 1)
    noisy = add_noise(labels, len(intents), noise, rng, confused_with)
    truth = noisy != labels
    examples = [Example(t, intents[k], (), f"{name}:{j}") for j, ((t, _), k) in enumerate(zip(train, noisy), 1)]
    print(f"{int(truth.sum())} labels flipped", flush=True)

    started = time.perf_counter()
    result = find_label_issues(examples, language, settings, progress=lambda m: print("  " + m, flush=True))
    pico_seconds = time.perf_counter() - started
    suggested = np.array([index[s] for s in result.suggested])
    flagged = (result.p_wrong >= settings.threshold) & (suggested != noisy)
    posterior = result.pico.posterior
    p_suggested = posterior.dense()[np.arange(n), suggested]
    methods: list[dict[str, Any]] = []
    methods.append({"method": "pico", **detection(flagged, result.p_wrong, truth),
                    "suggestion_accuracy": suggestion_accuracy(flagged, suggested, truth, labels),
                    "seconds": round(pico_seconds, 1), "rounds": result.pico.rounds,
                    "f1_by_threshold": {str(t): detection((result.p_wrong >= t) & (suggested != noisy),
                                                          result.p_wrong, truth)["f1"] for t in THRESHOLDS},
                    "f1_by_round": [detection((1 - q.probability(noisy) >= settings.threshold) & (q.argmax() != noisy),
                                              1 - q.probability(noisy), truth)["f1"] for q in result.pico.history]})
    votes = result.pico.first_votes
    voted = votes.argmax(1)
    vote_flag = voted != noisy
    methods.append({"method": "vote (round 1)", **detection(vote_flag, 1 - votes[np.arange(n), noisy], truth),
                    "suggestion_accuracy": suggestion_accuracy(vote_flag, voted, truth, labels)})
    issues = None
    if cleanlab_filter is not None:
        from cleanlab.rank import get_label_quality_scores

        started = time.perf_counter()
        issues = cleanlab_filter.find_label_issues(labels=noisy, pred_probs=votes)
        quality = get_label_quality_scores(noisy, votes)
        methods.append({"method": "cleanlab", **detection(issues, 1 - quality, truth),
                        "suggestion_accuracy": suggestion_accuracy(issues, voted, truth, labels),
                        "seconds": round(time.perf_counter() - started, 2),
                        "note": "on PICO's round-1 out-of-fold probabilities (+ the checkers' time)"})
    for m in methods:
        print(up.format_table([{"data": name, "noise": noise, **m}], COLUMNS), flush=True)

    confident = flagged & (p_suggested >= CONFIDENT)
    with CheckerRunner(checker, features, workers=settings.workers) as runner:
        downstream = Downstream(runner, len(intents), n, val_rows, val_labels, test_rows, test_labels,
                                args.downstream_seeds)
        sets = {
            "clean": downstream.hard(labels),
            "noisy": downstream.hard(noisy),
            "pico relabel": downstream.hard(np.where(flagged, suggested, noisy)),
            "pico drop": downstream.hard(noisy, keep=~flagged),
            "pico confident": downstream.hard(np.where(confident, suggested, noisy), keep=~flagged | confident),
            "pico soft": (np.arange(n), posterior.dense()),
        }
        # Diagnostics, not methods (they read the truth): what dropping costs by itself.
        sets["oracle drop"] = downstream.hard(noisy, keep=~truth)  # exactly the flipped rows left out
        sets["clean minus flagged"] = downstream.hard(labels, keep=~flagged)  # true labels, PICO's suspects left out
        if issues is not None:
            sets["cleanlab drop"] = downstream.hard(noisy, keep=~issues)
            sets["cleanlab relabel"] = downstream.hard(np.where(issues, voted, noisy))
        started = time.perf_counter()
        scores = downstream.score(sets)
        downstream_seconds = time.perf_counter() - started
    for split in ("val", "test"):
        clean, dirty = scores["clean"][split], scores["noisy"][split]
        for s in scores.values():
            s[f"recovered_{split}"] = (s[split] - dirty) / (clean - dirty) if clean > dirty else float("nan")
    best_on_val = max((k for k in scores if k not in REFERENCES), key=lambda k: scores[k]["val"])
    cell = {"data": name, "noise": noise, "language": language, "train": n, "intents": len(intents),
            "validation": len(val), "test": len(test), "flipped": int(truth.sum()),
            "suspects": len(result.suspects), "cleaning_seconds": result.seconds,
            "methods": methods, "downstream": scores, "best_on_validation": best_on_val,
            "downstream_seconds": round(downstream_seconds, 1), "confident_threshold": CONFIDENT,
            "relabelled_by_confident": int(confident.sum()), "dropped_by_confident": int((flagged & ~confident).sum())}
    print(format_downstream([cell]), flush=True)
    return cell


def run_real(name: str, language: str, rows: Pairs, conflicts: Pairs, settings: CleanSettings) -> dict[str, Any]:
    """Every row with its real label, the conflicting copies included: which intent each conflicting
    text ends under, and the strongest other suspects (no ground truth: examples to read)."""
    everything = rows + conflicts
    print(f"\n== {name} real: {len(everything)} utterances with their real labels, {len(conflicts)} conflicting copies "
          f"of {len({t for t, _ in conflicts})} texts", flush=True)
    examples = [Example(t, i, (), f"{name}:{j}") for j, (t, i) in enumerate(everything, 1)]
    started = time.perf_counter()
    result = find_label_issues(examples, language, settings, progress=lambda m: print("  " + m, flush=True))
    seconds = time.perf_counter() - started
    by_text: dict[str, list[int]] = defaultdict(list)
    for j, (t, _) in enumerate(everything):
        if j >= len(rows):
            by_text[t].append(j)
    suspect_rows = {s.source: s for s in result.suspects}
    resolved = []
    for text, copies in by_text.items():
        filed = sorted(everything[j][1] for j in copies)
        kept = result.suggested[copies[0]]
        flagged = [everything[j][1] for j in copies if f"{name}:{j + 1}" in suspect_rows]
        shared = result.pico.posterior.dense(np.array(copies[:1]))[0]  # copies share one distribution
        resolved.append({"text": text, "filed_under": filed, "resolved_to": kept,
                         "p_resolved": round(float(shared[result.intents.index(kept)]), 4),
                         "copies_flagged": flagged})
    others = [s.to_dict() for s in result.suspects if not s.conflict]
    cell = {"data": name, "noise": "real", "language": language, "utterances": len(everything),
            "conflicting_texts": len(by_text), "conflicting_copies": len(conflicts),
            "resolved_to": dict(Counter(r["resolved_to"] for r in resolved)),
            "conflicts": resolved, "suspects": len(result.suspects),
            "suspects_not_conflicts": len(others), "suspects_by_move": dict(Counter(
                f"{s['given']} -> {s['suggested']}" for s in others).most_common()),
            "top_other_suspects": [{k: s[k] for k in ("rank", "text", "given", "suggested", "p_wrong", "source")}
                                   for s in others[:25]],
            "cleaning_seconds": round(seconds, 1)}
    print(up.format_table(resolved, ["text", "filed_under", "resolved_to", "p_resolved"]))
    print(f"resolved to: {cell['resolved_to']}; {len(others)} other suspects ({cell['suspects_by_move']})")
    print(up.format_table(cell["top_other_suspects"][:10], ["rank", "text", "given", "suggested", "p_wrong"]))
    return cell


def format_downstream(cells: list[dict[str, Any]]) -> str:
    rows = []
    for c in cells:
        for k, s in c.get("downstream", {}).items():
            rows.append({"data": c["data"], "noise": c["noise"],
                         "training set": k + (" *" if k == c.get("best_on_validation") else ""),
                         "val": round(s["val"], 4), "test": round(s["test"], 4),
                         "recovered (val)": f"{s['recovered_val']:.0%}" if k not in ("clean", "noisy") else "",
                         "recovered (test)": f"{s['recovered_test']:.0%}" if k not in ("clean", "noisy") else ""})
    return up.format_table(rows, DOWNSTREAM_COLUMNS)


def summary(out_dir: Path) -> dict[str, Any]:
    cells = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out_dir.glob("*-*.json"))]
    cells = [c for c in cells if "cell" in c]
    synthetic = [c["cell"] for c in cells if c["cell"]["noise"] != "real"]
    detection_rows = [{"data": c["data"], "noise": c["noise"], **m} for c in synthetic for m in c["methods"]]
    print(up.format_table(detection_rows, COLUMNS))
    print()
    print(format_downstream(synthetic))
    # Which cleaned training set wins on validation, counted over the cells (the default's evidence).
    wins = Counter(c["best_on_validation"] for c in synthetic)
    names = sorted({k for c in synthetic for k in c["downstream"] if k not in ("clean", "noisy")})
    mean_recovered = {k: {split: float(np.mean([c["downstream"][k][f"recovered_{split}"] for c in synthetic
                                                if k in c["downstream"]])) for split in ("val", "test")}
                      for k in names}
    print(f"\nbest on validation, cells won: {dict(wins)}")
    print("mean recovery over cells: " + ", ".join(f"{k} {v['val']:.0%} val / {v['test']:.0%} test"
                                                     for k, v in mean_recovered.items()))
    result = {"benchmark": "label_noise", "cells": [f"{c['cell']['data']}-{c['cell']['noise']}" for c in cells],
              "detection": detection_rows,
              "downstream": [{"data": c["data"], "noise": c["noise"], "training_set": k, **v}
                             for c in synthetic for k, v in c["downstream"].items()],
              "best_on_validation_wins": dict(wins), "mean_recovered": mean_recovered,
              "real": [c["cell"] for c in cells if c["cell"]["noise"] == "real"]}
    up.save(out_dir / "summary.json", result)
    return result


def main() -> None:
    parser = _cli.Parser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=["clinc150"], choices=DATASETS)
    parser.add_argument("--noise", nargs="+", default=["sym10"], choices=NOISES)
    parser.add_argument("--summary", action="store_true", help="only print and save the summary of the saved cells")
    parser.add_argument("--limit", type=up.limit_type, help="training examples per intent (smoke runs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=CleanSettings().rounds)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--downstream-seeds", type=int, default=2, help="fits per cleaned training set (mean)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_out(OUT_DIR, what="folder of the cell files and summary.json", folder=True)
    args = parser.parse_args()
    if args.summary:
        summary(args.out)
        return
    try:
        import cleanlab.filter as cleanlab_filter

        cleanlab_version: str | None = __import__("cleanlab").__version__
    except ImportError:
        cleanlab_filter, cleanlab_version = None, None
        print("cleanlab is not installed (pip install 'malmoi[bench-cleanlab]'): measuring PICO alone")
    settings = CleanSettings(rounds=args.rounds, splits=args.splits, folds=args.folds, workers=args.workers,
                             seed=args.seed)
    out = args.out if not args.limit else args.out / "smoke"
    protocol = (__doc__ or "").split("Run one cell")[0].strip()
    for name in args.data:
        for noise in args.noise:
            if noise == "real" and name != "kochat":
                print(f"skipping {name} real: only Kochat's data has real conflicting rows")
                continue
            cell = run_cell(name, noise, args, settings, cleanlab_filter)
            up.save(out / f"{name}-{noise}.json", {
                "benchmark": "label_noise", "protocol": protocol, "command": up.command_line(),
                "machine": up.machine(), "limit": args.limit, "cleanlab": cleanlab_version or "not installed",
                "settings": settings.model_dump(mode="json"), "downstream_seeds": args.downstream_seeds, "cell": cell})
    if not args.limit:
        summary(out)


if __name__ == "__main__":
    main()
