"""CLINC150 "Full" as a bot: in-scope accuracy, out-of-scope recall, AUROC, training time.

Data: Larson et al. 2019, "An Evaluation Dataset for Intent Classification and Out-of-Scope
Prediction", read by path from ../shared/data/clinc150/data_full.json.

Protocol (the user-path check ../shared/check/clinc150):
- the bot: ``train`` + ``val`` (18,000 utterances, 150 intents) as ``data/intents/<intent>.csv``,
  and ``oos_train`` + ``oos_val`` (200) as its out-of-domain data ``data/ood/ood.csv``; bot.yaml has
  only name and language (English), so malmoi's defaults choose everything, the fallback threshold
  included (on the share of the data malmoi holds out itself);
- ``malmoi train``, then ``malmoi parse`` on ``test`` (4,500 in-scope) + ``oos_test`` (1,000);
- in-scope accuracy: the right intent and no fallback (the paper's definition); out-of-scope
  recall, precision, F1: out-of-scope means fallback; false-fallback rate on in-scope test;
  top-1 accuracy ignoring fallback.
- AUROC: the parse output has no in-domain score (the one malmoi thresholds), so the AUROC is that
  of ``intent_ranking[0].confidence``, the top intent's probability; it measures how well that
  confidence separates in-scope from out-of-scope, not malmoi's own fallback score.
- ``--no-ood``: the bot gets no out-of-domain data (the paper's "no oos" protocol): what the
  fallback default (refuse about 1 % of held-out real requests) gives a bot without such examples.

Classical floor, on the same split (``--no-baseline`` skips it): TF-IDF (word 1-2-grams +
character 1-4-grams) and one-vs-rest logistic regression on the bot's 18,000 utterances; fall back
when the top probability is below a threshold chosen on the training side only:
  1. 5-fold stratified cross-validation (``--cv-folds``, shuffled, seed 0) over the in-domain
     utterances gives every one an out-of-fold top probability; the out-of-domain utterances are
     dealt into the same number of folds (shuffled, seed 0) and each is scored by the model of its
     fold (none of them is ever a training example: the classifier has no out-of-scope class);
  2. the threshold is the one that maximizes the unweighted macro-F1 (in-domain vs out-of-domain)
     over these out-of-fold scores, scanning the midpoints between consecutive distinct scores;
     with ``--no-ood``, the 1 % quantile of the in-domain out-of-fold scores (malmoi's default
     false-fallback rate without out-of-domain data);
  3. the final classifier is fitted on all 18,000 utterances and the threshold applied to it.

Run (full, one at a time on a shared machine):
    python bench/clinc150.py
    python bench/clinc150.py --no-ood
    python bench/clinc150.py --variant bilstm='{"encoder": {"type": "bilstm"}}' --no-baseline
Smoke test:
    OMP_NUM_THREADS=1 python bench/clinc150.py --limit 10 --intents 15
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import _cli
import _userpath as up

DATA = up.DATA / "clinc150" / "data_full.json"

# Larson et al. 2019, Table 2, "Full": in-scope accuracy / out-of-scope recall.
PUBLISHED = [
    ("BERT, oos-train (Larson et al. 2019)", 0.969, 0.403),
    ("BERT, threshold (Larson et al. 2019)", 0.962, 0.523),
    ("MLP on USE (Larson et al. 2019)", 0.935, 0.474),
    ("Rasa (Larson et al. 2019)", 0.915, 0.453),
    ("CNN (Larson et al. 2019)", 0.912, 0.189),
    ("FastText (Larson et al. 2019)", 0.890, 0.097),
]
COLUMNS = [
    "name",
    "in_scope_accuracy",
    "oos_recall",
    "oos_precision",
    "oos_f1",
    "false_fallback_rate",
    "auroc_top_confidence",
    "top1_accuracy",
    "train_seconds",
]


def load(intents: int | None, limit: int | None, no_ood: bool) -> dict[str, list[Any]]:
    d = json.loads(DATA.read_text(encoding="utf-8"))
    train: list[up.Example] = [(t.split(), label, None) for t, label in d["train"] + d["val"]]
    test: list[tuple[str, str]] = [(t, label) for t, label in d["test"]]
    if intents:
        keep = set(sorted({label for _, label, _ in train})[:intents])
        train = [x for x in train if x[1] in keep]
        test = [x for x in test if x[1] in keep]
    ood = [] if no_ood else [t for t, _ in d["oos_train"] + d["oos_val"]]
    return {
        "train": up.per_intent(train, lambda x: x[1], limit),
        "ood": up.spread(ood, limit),
        "test": up.spread(test, limit),
        "oos_test": up.spread([t for t, _ in d["oos_test"]], limit),
    }


def figures(results: list[dict[str, Any]], data: dict[str, list[Any]]) -> dict[str, Any]:
    ins, oos = results[: len(data["test"])], results[len(data["test"]) :]
    labels = [label for _, label in data["test"]]
    return {
        "in_scope_accuracy": sum(up.intent_of(r) == label for r, label in zip(ins, labels)) / len(ins),
        **up.fallback_scores(ins, oos),
        "top1_accuracy": sum(up.top1_of(r) == label for r, label in zip(ins, labels)) / len(ins),
    }


def macro_f1_threshold(in_domain: Any, out_of_domain: Any) -> float:
    """The threshold (fall back when score < threshold) that maximizes the macro-F1 of in-domain vs
    out-of-domain, over the midpoints between consecutive distinct scores (ties: the lowest)."""
    import numpy as np

    ind, ood = np.sort(np.asarray(in_domain, float)), np.sort(np.asarray(out_of_domain, float))
    values = np.unique(np.concatenate([ind, ood]))
    candidates = np.concatenate([[values[0]], (values[1:] + values[:-1]) / 2, [values[-1] + 1e-9]])
    ood_flagged = np.searchsorted(ood, candidates, side="left")  # out-of-domain scores below each threshold
    id_flagged = np.searchsorted(ind, candidates, side="left")  # in-domain ones (false fallbacks)
    f1_ood = 2 * ood_flagged / np.maximum(2 * ood_flagged + id_flagged + (len(ood) - ood_flagged), 1)
    id_kept = len(ind) - id_flagged
    f1_id = 2 * id_kept / np.maximum(2 * id_kept + (len(ood) - ood_flagged) + id_flagged, 1)
    return float(candidates[int(np.argmax((f1_ood + f1_id) / 2))])


def classical_floor(data: dict[str, list[Any]], folds: int) -> dict[str, Any]:
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    texts = np.array([" ".join(words) for words, _, _ in data["train"]], dtype=object)
    labels = np.array([label for _, label, _ in data["train"]], dtype=object)
    ood = np.array(data["ood"], dtype=object)
    started = time.perf_counter()
    oof_id, oof_ood = np.zeros(len(texts)), np.zeros(len(ood))
    id_folds = StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, labels)
    ood_folds = KFold(folds, shuffle=True, random_state=0).split(ood) if len(ood) >= folds else None
    for k, (fit_idx, held_idx) in enumerate(id_folds):
        model = clone(up.classical_intent_model()).fit(texts[fit_idx], labels[fit_idx])
        oof_id[held_idx] = model.predict_proba(texts[held_idx]).max(1)
        if ood_folds is not None:
            _, ood_idx = next(ood_folds)
            oof_ood[ood_idx] = model.predict_proba(ood[ood_idx]).max(1)
        print(f"  classical floor: fold {k + 1}/{folds}", flush=True)
    if len(ood) >= folds:
        threshold, how = macro_f1_threshold(oof_id, oof_ood), "macro-F1 of out-of-fold scores"
    else:
        threshold, how = float(np.quantile(oof_id, 0.01)), "1 % quantile of in-domain out-of-fold scores"
    cv_seconds = time.perf_counter() - started

    started = time.perf_counter()
    model = up.classical_intent_model().fit(texts, labels)
    fit_seconds = time.perf_counter() - started
    test_probs = model.predict_proba([t for t, _ in data["test"]])
    ood_scores = model.predict_proba(data["oos_test"]).max(1)
    id_scores = test_probs.max(1)
    predicted = model.classes_[test_probs.argmax(1)]
    correct = predicted == np.array([label for _, label in data["test"]], dtype=object)
    caught, false_alarms = int((ood_scores < threshold).sum()), int((id_scores < threshold).sum())
    recall = caught / len(ood_scores)
    precision = caught / (caught + false_alarms) if caught + false_alarms else float("nan")
    return {
        "name": "tf-idf + logreg (floor)",
        "model": up.CLASSICAL_INTENT,
        "threshold_rule": f"{how}, {folds}-fold cross-validation on the training side",
        "threshold": threshold,
        "in_scope_accuracy": float((correct & (id_scores >= threshold)).mean()),
        "oos_recall": recall,
        "oos_precision": precision,
        "oos_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "false_fallback_rate": false_alarms / len(id_scores),
        "auroc_top_confidence": up.auroc(id_scores.tolist(), ood_scores.tolist()),
        "top1_accuracy": float(correct.mean()),
        "train_seconds": round(fit_seconds, 2),
        "cv_seconds": round(cv_seconds, 2),
    }


def main() -> None:
    parser = up.parser(__doc__, "clinc150", baseline="TF-IDF + logistic regression")
    parser.add_argument(
        "--no-ood",
        action="store_true",
        help="the bot (and the floor) get no out-of-domain data; default --out bench/results/clinc150-no-ood.json",
    )
    parser.add_argument("--intents", type=int, metavar="K", help="smoke test: only the first K intents (by name)")
    parser.add_argument("--cv-folds", type=int, default=5, help="folds for the floor's threshold (default 5)")
    parser.set_defaults(out=None)
    args = parser.parse_args()
    out: Path = _cli.checked_out(args.out or up.RESULTS / ("clinc150-no-ood.json" if args.no_ood else "clinc150.json"))

    data = load(args.intents, args.limit, args.no_ood)
    print(
        f"CLINC150: {len(data['train'])} training utterances, {len(data['ood'])} out-of-domain; "
        f"test {len(data['test'])} in-scope + {len(data['oos_test'])} out-of-scope",
        flush=True,
    )
    texts = [t for t, _ in data["test"]] + data["oos_test"]

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_csv(bot, data["train"], data["ood"], language="en", name="clinc150", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, texts, timeout=args.timeout)
        return figures(results, data), seconds

    rows = up.run_all(up.workdir("clinc150"), up.runs(args.variant), write_bot, evaluate, timeout=args.timeout)
    floor = classical_floor(data, args.cv_folds) if args.baseline else None
    published = [{"name": n, "in_scope_accuracy": a, "oos_recall": r} for n, a, r in PUBLISHED]

    print()
    print(up.format_table([r for r in rows if "error" not in r] + ([floor] if floor else []) + published, COLUMNS))
    up.save(
        out,
        up.result(
            "clinc150-full" + ("-no-ood" if args.no_ood else ""),
            "bot: train+val as intents, oos_train+oos_val as out-of-domain data (none with --no-ood), bot.yaml "
            "settings per row; test: test + oos_test through `malmoi parse`; in-scope accuracy = right intent "
            "and no fallback; out-of-scope = fallback; AUROC of intent_ranking[0].confidence",
            args,
            data={
                "train": len(data["train"]),
                "train_ood": len(data["ood"]),
                "test": len(data["test"]),
                "oos_test": len(data["oos_test"]),
                "intents": len({x[1] for x in data["train"]}),
            },
            rows=rows,
            classical_floor=floor,
            published=published,
        ),
    )


if __name__ == "__main__":
    main()
