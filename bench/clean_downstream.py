"""What cleaning does to the model a user trains: `malmoi clean --apply`, then the default `malmoi train`.

bench/label_noise.py measures detection (which rows PICO finds) and a fast proxy model; this script
measures what users get, all through the command line with default settings:

1. the training split with noise on its labels (seeded; ``none``: the real labels, to measure what
   cleaning costs on data without synthetic noise; ``sym10``: 10 % of rows get a uniformly drawn
   other intent; ``pair10``: 10 % flipped to the intent each one is most confused with) written as a
   Kochat-CSV bot directory;
2. ``malmoi clean BOT --apply`` (defaults: moves confident suspects, keeps overlapping pairs, sets
   the rest aside);
3. ``malmoi train`` (defaults, ``settings: {training: {seed: S}}`` per seed) on the noisy bot, the applied bot
   and the clean (true-label) bot, then ``malmoi parse`` of the test split;
4. per training set: test accuracy with fallbacks counted as wrong (what a user sees), top-1
   accuracy ignoring the fallback, and the fallback rate; mean over ``--seeds`` seeds;
   recovered = (applied - noisy) / (clean - noisy) on accuracy; for ``none`` the cost is
   applied - clean.

    python bench/clean_downstream.py --data kochat --noise sym10
    python bench/clean_downstream.py --data clinc150 parakqc --noise sym10 none --seeds 2
Results: bench/results/clean_downstream/DATA-NOISE.json (``--out`` for another folder).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

import _cli
import _userpath as up
from label_noise import DATASETS, add_noise, load, most_confused
from malmoi.clean import CleanSettings, build_checker
from malmoi.text.doc import Analyzer

NOISES = ("none", "sym10", "pair10")
TIMEOUT = 4 * 3600.0


def write_bot(bot: Path, pairs: list[tuple[str, str]], language: str, seed: int) -> None:
    up.write_bot_csv(bot, ((text.split(), intent, None) for text, intent in pairs), language=language,
                     name=bot.name, settings={"training": {"seed": seed}})


def scores(model: Path, test: list[tuple[str, str]]) -> dict[str, float]:
    results, _ = up.parse(model, [t for t, _ in test], timeout=TIMEOUT)
    truth = [i for _, i in test]
    answered = [up.intent_of(r) for r in results]
    return {
        "accuracy": float(np.mean([a == t for a, t in zip(answered, truth)])),  # a fallback is wrong
        "top1": float(np.mean([up.top1_of(r) == t for r, t in zip(results, truth)])),
        "fallback_rate": float(np.mean([a == up.FALLBACK for a in answered])),
    }


def run_cell(name: str, noise: str, seeds: int, limit: int | None, work: Path) -> dict[str, Any]:
    language, train, _, test, _ = load(name, limit)
    intents = sorted({i for _, i in train})
    index = {n: k for k, n in enumerate(intents)}
    labels = np.array([index[i] for _, i in train])
    test = [(t, i) for t, i in test if i in index]
    if noise == "none":
        noisy_labels = labels
    else:
        confused_with = None
        if noise == "pair10":
            settings = CleanSettings()
            checker = build_checker(settings)
            features = checker.featurize(Analyzer(language).many([t for t, _ in train]))
            confused_with = most_confused(checker, features, labels, len(intents), settings, seed=0)
        noisy_labels = add_noise(labels, len(intents), noise, np.random.default_rng(1), confused_with)
    noisy = [(t, intents[k]) for (t, _), k in zip(train, noisy_labels)]
    print(f"\n== {name} {noise}: {len(train)} training rows ({int((noisy_labels != labels).sum())} flipped), "
          f"{len(intents)} intents, {len(test)} test", flush=True)

    cleaned_bot = work / "applied"
    write_bot(cleaned_bot, noisy, language, 0)
    secs, done = up.malmoi_cli("clean", cleaned_bot, "--apply", timeout=TIMEOUT)
    if done.returncode != 0:
        raise up.BenchError(f"malmoi clean --apply failed ({done.returncode}): {done.stderr[-600:]}")
    print(f"clean --apply: {secs:.0f} s; {done.stderr.strip().splitlines()[-3:]}", flush=True)
    applied_rows = sum(max(0, len(f.read_text('utf-8').splitlines()) - 1)
                       for f in (cleaned_bot / "data" / "intents").glob("*.csv"))

    runs: dict[str, list[dict[str, float]]] = {"noisy": [], "applied": [], "clean": []}
    for seed in range(seeds):
        for kind in runs:
            bot = work / f"{kind}-{seed}"
            if kind == "applied":
                shutil.copytree(cleaned_bot / "data", bot / "data", dirs_exist_ok=True)
                up.write_config(bot, name=bot.name, language=language, settings={"training": {"seed": seed}})
            else:
                write_bot(bot, noisy if kind == "noisy" else train, language, seed)
            trained = up.train(bot, work / f"model-{kind}-{seed}", timeout=TIMEOUT)
            figures = scores(trained.model, test)
            runs[kind].append({**figures, "train_seconds": round(trained.seconds, 1)})
            print(f"  seed {seed} {kind:8s} accuracy {figures['accuracy']:.4f} top-1 {figures['top1']:.4f} "
                  f"fallback {figures['fallback_rate']:.4f} ({trained.seconds:.0f} s)", flush=True)
    mean = {kind: {k: float(np.mean([r[k] for r in rows])) for k in ("accuracy", "top1", "fallback_rate")}
            for kind, rows in runs.items()}
    cell: dict[str, Any] = {"data": name, "noise": noise, "seeds": seeds, "training_rows": len(train),
                            "rows_after_apply": applied_rows, "flipped": int((noisy_labels != labels).sum()),
                            "clean_apply_seconds": round(secs, 1), "runs": runs, "mean": mean}
    lost = mean["clean"]["accuracy"] - mean["noisy"]["accuracy"]
    if noise == "none":
        cell["apply_cost_points"] = round(100 * (mean["clean"]["accuracy"] - mean["applied"]["accuracy"]), 2)
    elif lost > 0:
        cell["recovered"] = (mean["applied"]["accuracy"] - mean["noisy"]["accuracy"]) / lost
    print(json.dumps({k: cell[k] for k in ("mean", "recovered", "apply_cost_points") if k in cell}, indent=1),
          flush=True)
    return cell


def main() -> None:
    parser = _cli.Parser(description=__doc__)
    parser.add_argument("--data", nargs="+", default=["kochat"], choices=DATASETS)
    parser.add_argument("--noise", nargs="+", default=["sym10"], choices=NOISES)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--limit", type=up.limit_type, help="training examples per intent (smoke runs)")
    parser.add_out(up.RESULTS / "clean_downstream", what="folder of results JSON, one a cell", folder=True)
    args = parser.parse_args()
    for name in args.data:
        for noise in args.noise:
            started = time.perf_counter()
            cell = run_cell(name, noise, args.seeds, args.limit, up.workdir(f"clean-downstream-{name}-{noise}"))
            cell["seconds"] = round(time.perf_counter() - started, 1)
            cell = {"benchmark": "clean_downstream", "command": up.command_line(), "machine": up.machine(),
                    "load_average": list(os.getloadavg()), **cell}
            if args.limit is None:
                _cli.save_json(args.out / f"{name}-{noise}.json", cell)


if __name__ == "__main__":
    main()
