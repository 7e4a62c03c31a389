"""The linear floor, the neural head and their stacked blend, on one bot directory (issue 24, items 1-2).

Measures, on the same bot directory and test split as the user-path benchmark of ``--data``:

- ``floor``: logistic regression on malmoi's own lexical features (``ngrams.v1`` TF-IDF; one-vs-rest,
  liblinear, C=10, :mod:`malmoi.intent.linear`), fitted to convergence;
- ``neural``: today's default model (``malmoi train``'s code path, default settings), parsed as
  ``malmoi parse`` parses;
- ``blend``: ``a · neural logits + b · floor decision values`` (:mod:`malmoi.intent.blend`), with
  ``a, b`` learned on training's own held-out share (the utterances that choose the epochs and
  the threshold: the first-pass network never trained on them, and the floor used for the
  weights is fitted without them), then the fallback threshold chosen on the blended score of
  the same held-out share (and held-out out-of-domain utterances), by the bot's own criterion.
  Three in-domain scores are compared: the top blended probability, the top blended logit, and
  the neural cosine alone (today's fallback score, with the blend only re-ranking);
- ``--intent-encoder kiwi-vectors`` (Korean, item 2): the neural member is a second model whose
  encoder is Kiwi's morpheme vectors plus n-grams; entities still come from the default (CNN)
  model — the two models composed at parse time, i.e. what "the intent head on Kiwi vectors, the
  tagger on the CNN" would give (the CNN here also learned from the intent loss, as it does today);
- ``sklearn floor``: the benchmarks' classical floor (TF-IDF of the raw text, scikit-learn), top-1.

Protocol: the data, split and metrics of ``bench/<data>.py`` and ``../shared/check/<data>``; the
bot directory is written the same way, rows ``malmoi validate`` calls errors are dropped as the
checks drop them, and training runs in this process through ``Model.fit`` (what ``malmoi train``
calls). The held-out share is read by wrapping ``malmoi.model.training._calibrate`` (a
measurement hook, no change to training). in-scope accuracy: right intent and no fallback; top-1:
right best-ranked intent, fallback or not; out-of-scope recall: share of out-of-domain test
utterances that fall back.

Run:
    python bench/floor_blend.py --data clinc150 [--out bench/results/floor_blend_clinc150.json]
    python bench/floor_blend.py --data kochat --intent-encoder kiwi-vectors
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
IN_DOMAIN_SCORES = ("blend_probability", "blend_logit", "neural_cosine")
COLUMNS = ["name", "in_scope_accuracy", "top1_accuracy", "oos_recall", "false_fallback_rate", "auroc",
           "in_scope_at_oos_0.75", "seconds"]


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


# --- training, with the held-out share recorded ---------------------------------------------------


class HeldOut:
    """What the first pass of ``fit`` calibrates on: its held-out utterances and their neural logits."""

    def __init__(self) -> None:
        self.examples: list[Any] = []
        self.ood_examples: list[Any] = []
        self.intents: list[str] = []
        self.logits = np.zeros((0, 0))
        self.ood_logits = np.zeros((0, 0))


def fit_recording(model: Any, examples: list[Any], ood: list[Any]) -> HeldOut:
    from malmoi.model import training

    held = HeldOut()
    original = training._calibrate

    def spy(m: Any, held_out: list[Any], held_out_ood: list[Any]) -> dict[str, Any]:
        if not held.examples:  # the first pass only (refit does not calibrate again)
            held.examples = [it.example for it in held_out]
            held.ood_examples = [it.example for it in held_out_ood]
            held.intents = list(m.intents)
            held.logits = neural_logits(m, [it.doc for it in held_out])
            held.ood_logits = neural_logits(m, [it.doc for it in held_out_ood])
        return original(m, held_out, held_out_ood)

    training._calibrate = spy
    try:
        model.fit(examples, ood)
    finally:
        training._calibrate = original
    return held


def neural_logits(model: Any, docs: list[Any]) -> np.ndarray:
    """``scale × similarity`` to every class centre: the logits whose softmax ranks intents in a parse."""
    if not docs:
        return np.zeros((0, len(model.intents)))
    parts = []
    for start in range(0, len(docs), 256):
        _, sentences = model._sentences(docs[start : start + 256])
        parts.append(model.scorer.similarities(sentences) * model.scorer.scale)
    return np.concatenate(parts).astype(np.float64)


def neural_cosine(model: Any, logits: np.ndarray) -> np.ndarray:
    """The neural head's in-domain score (what parsing thresholds), from its logits."""
    if model.scorer.metric == "linear":
        z = logits - logits.max(1, keepdims=True)
        return (np.exp(z) / np.exp(z).sum(1, keepdims=True)).max(1)
    return logits.max(1) / model.scorer.scale


# --- the rows -------------------------------------------------------------------------------------


def figures(
    predicted: np.ndarray,
    in_domain: np.ndarray,
    threshold: float,
    gold: list[int],
    ood_in_domain: np.ndarray | None,
    held: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """In-scope accuracy, top-1, false fallbacks and out-of-scope recall at ``threshold``; with
    out-of-domain test data also the AUROC of the in-domain score, the figures at the threshold
    that catches 80 % of the held-out out-of-domain utterances (``held``: held-out in-domain and
    out-of-domain scores), and the best in-scope accuracy any threshold reaches while catching
    75 % of the test's out-of-scope queries (an oracle on test: it compares scores, not rules)."""
    right = predicted == np.asarray(gold)
    kept = in_domain >= threshold
    out: dict[str, Any] = {
        "top1_accuracy": float(right.mean()),
        "in_scope_accuracy": float((right & kept).mean()),
        "false_fallback_rate": float((~kept).mean()),
        "threshold": float(threshold),
    }
    if ood_in_domain is None or not len(ood_in_domain):
        return out
    from malmoi.intent.fallback import ood_recall_threshold

    out["oos_recall"] = float((ood_in_domain < threshold).mean())
    out["auroc"] = up.auroc(in_domain.tolist(), ood_in_domain.tolist())
    if held is not None and len(held[1]):
        t = ood_recall_threshold(held[0], held[1], 0.8)
        out["at_held_out_ood_recall_0.8"] = {
            "threshold": t, "in_scope_accuracy": float((right & (in_domain >= t)).mean()),
            "oos_recall": float((ood_in_domain < t).mean()), "false_fallback_rate": float((in_domain < t).mean()),
        }
    oracle = float(np.quantile(ood_in_domain, 0.75))  # 75 % of test out-of-scope scores fall at or below
    out["oracle_in_scope_at_test_oos_recall_0.75"] = float((right & (in_domain > oracle)).mean())
    return out


def choose(model: Any, in_domain: np.ndarray, ood: np.ndarray) -> tuple[float, str]:
    from malmoi.intent.fallback import choose_threshold

    s = model.settings.intent
    return choose_threshold(
        in_domain, ood if len(ood) else None, criterion=s.threshold, target_ood_recall=s.target_ood_recall,
        false_fallback_rate=s.false_fallback_rate, ood_share=s.expected_ood_share,
    )


def fit_floors(model: Any, held: HeldOut, data: dict[str, Any], examples: list[Any], docs: dict[str, list[Any]]
               ) -> dict[str, Any]:
    """The floor fitted without the held-out share (for the blend's weights and every threshold) and
    on every example (for test), with their scores: the same for every neural member."""
    from malmoi.components import NgramSettings
    from malmoi.featurize.lexical import NgramFeaturizer
    from malmoi.intent.linear import LinearIntents

    index = {n: i for i, n in enumerate(model.intents)}
    held_ids = {id(e) for e in held.examples}
    fit_part = [e for e in examples if id(e) not in held_ids]
    started = time.perf_counter()
    analyze = model.analyze
    part = NgramFeaturizer(NgramSettings())
    part_features = part.fit_transform(analyze([e.text for e in fit_part]))
    floor_part = LinearIntents().fit(part_features, part.size, [index[e.intent] for e in fit_part], len(index))
    full = NgramFeaturizer(NgramSettings())
    full_features = full.fit_transform(analyze([e.text for e in examples]))
    floor = LinearIntents().fit(full_features, full.size, [index[e.intent] for e in examples], len(index))
    test_gold = np.array([index[i] for _, i, _ in data["test"]])
    test_features = [full.transform(d) for d in docs["test"]]
    # Sparse floors: the largest weights only, as many as 4, 16 or 64 per n-gram row.
    pruned = {
        f"{n}_per_row": float((floor.pruned(n * full.size).scores(test_features).argmax(1) == test_gold).mean())
        for n in (4, 16, 64)
    }
    return {
        "pruned_top1": pruned,
        "held_ids": held_ids,
        "held_linear": floor_part.scores([part.transform(d) for d in analyze([e.text for e in held.examples])]),
        "held_ood_linear": floor_part.scores([part.transform(d) for d in analyze([e.text for e in held.ood_examples])]),
        "test_linear": floor.scores([full.transform(d) for d in docs["test"]]),
        "ood_linear": floor.scores([full.transform(d) for d in docs["ood_test"]]),
        "seconds": time.perf_counter() - started,
        "weights_mb": floor.nbytes / 2**20,
        "rows": full.size,
    }


def measure(
    name: str, model: Any, held: HeldOut, data: dict[str, Any], floors: dict[str, Any], docs: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """Rows floor / neural / blend for one neural model (``model``, fitted, with ``held``)."""
    from malmoi.intent.blend import fit_blend, in_domain_scores

    intents = list(model.intents)
    index = {n: i for i, n in enumerate(intents)}
    if held.intents != intents:
        raise SystemExit(f"[{name}] the first pass hid intents; the blend needs every intent in the held-out share")
    if {id(e) for e in held.examples} != floors["held_ids"]:
        raise SystemExit(f"[{name}] another held-out share than the floor's")
    gold = [index[i] for _, i, _ in data["test"]]
    held_gold = np.array([index[e.intent] for e in held.examples])
    held_linear, held_ood_linear = floors["held_linear"], floors["held_ood_linear"]
    test_linear, ood_linear = floors["test_linear"], floors["ood_linear"]
    rows: list[dict[str, Any]] = []

    def linear_in_domain(scores: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-scores))
        return (p / p.sum(1, keepdims=True)).max(1) if len(scores) else np.zeros(0)

    held_floor = (linear_in_domain(held_linear), linear_in_domain(held_ood_linear))
    threshold, how = choose(model, *held_floor)
    rows.append({
        "name": f"{name}: floor (logreg on malmoi n-grams)", "seconds": round(floors["seconds"], 2),
        "threshold_rule": how, "floor_weights_mb": floors["weights_mb"], "lexical_rows": floors["rows"],
        "pruned_floor_top1": floors["pruned_top1"],
        **figures(test_linear.argmax(1), linear_in_domain(test_linear), threshold, gold,
                  linear_in_domain(ood_linear) if len(ood_linear) else None, held_floor),
    })

    # The neural head as `malmoi parse` uses it: figures from the parse results themselves.
    test_neural = neural_logits(model, docs["test"])
    ood_neural = neural_logits(model, docs["ood_test"])
    parsed, parsed_ood = model.parse_docs(docs["test"]), model.parse_docs(docs["ood_test"])
    ranked = np.array([index[r.intent_ranking[0].name] for r in parsed])
    if not np.array_equal(ranked, test_neural.argmax(1)):
        raise SystemExit(f"[{name}] the logits measured here rank intents unlike `parse`")
    kept = np.array([not r.fallback for r in parsed])
    neural = figures(ranked, neural_cosine(model, test_neural), model.threshold, gold,
                     neural_cosine(model, ood_neural) if len(ood_neural) else None,
                     (neural_cosine(model, held.logits), neural_cosine(model, held.ood_logits)))
    rows.append({
        **neural,
        "name": f"{name}: neural head (default threshold)", "threshold_rule": model.report["calibration"]["method"],
        "seconds": model.report.get("train_seconds"), "threshold": float(model.threshold),
        # What `malmoi parse` said (the same, unless a text has no letter: parsing then falls back).
        "in_scope_accuracy": float(((ranked == np.asarray(gold)) & kept).mean()),
        "false_fallback_rate": float((~kept).mean()),
        **({"oos_recall": float(np.mean([r.fallback for r in parsed_ood]))} if parsed_ood else {}),
    })

    # The blend: weights and thresholds on the held-out share.
    blend = fit_blend(held.logits, held_linear, held_gold)
    predicted = blend.logits(test_neural, test_linear).argmax(1)
    held_blend_top1 = float((blend.logits(held.logits, held_linear).argmax(1) == held_gold).mean())
    for kind in IN_DOMAIN_SCORES:
        if kind == "neural_cosine":
            held_id, held_ood = neural_cosine(model, held.logits), neural_cosine(model, held.ood_logits)
            test_id, test_ood = neural_cosine(model, test_neural), neural_cosine(model, ood_neural)
        else:
            held_id = in_domain_scores(blend, held.logits, held_linear, kind)  # type: ignore[arg-type]
            held_ood = in_domain_scores(blend, held.ood_logits, held_ood_linear, kind)  # type: ignore[arg-type]
            test_id = in_domain_scores(blend, test_neural, test_linear, kind)  # type: ignore[arg-type]
            test_ood = in_domain_scores(blend, ood_neural, ood_linear, kind)  # type: ignore[arg-type]
        threshold, how = choose(model, held_id, held_ood)
        rows.append({
            "name": f"{name}: blend, fallback on {kind}", "threshold_rule": how,
            "blend": {"neural_weight": blend.neural_weight, "linear_weight": blend.linear_weight},
            "held_out_top1": {"neural": float((held.logits.argmax(1) == held_gold).mean()),
                              "floor": float((held_linear.argmax(1) == held_gold).mean()), "blend": held_blend_top1},
            **figures(predicted, test_id, threshold, gold, test_ood if len(test_ood) else None, (held_id, held_ood)),
        })
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
    p.add_argument("--out", type=Path, help="result JSON (default bench/results/floor_blend_<data>.json)")
    p.add_argument("--intent-encoder", choices=["kiwi-vectors"], help="also: the intent member on this encoder")
    p.add_argument("--limit", type=up.limit_type, help="smoke test: N training utterances per intent, N test")
    p.add_argument("--intents", type=int, help="smoke test: only the first N intents (clinc150, parakqc)")
    p.add_argument("--no-baseline", dest="baseline", action="store_false", help="skip the sklearn floor")
    args = p.parse_args()
    out = args.out or up.RESULTS / f"floor_blend_{args.data}.json"

    from malmoi.model.model import Model
    from malmoi.settings import BotConfig

    data = load(args.data, args.limit, args.intents)
    loadavg = [os.getloadavg()]
    work = up.workdir(f"floor-blend-{args.data}")
    up.write_bot_csv(work / "bot", data["train"], data["ood"], language=data["language"], name=args.data, settings={})
    config, bot_data, dropped = load_examples(work / "bot")
    examples, ood = list(bot_data.examples), list(bot_data.ood)
    print(f"{args.data}: {len(examples)} training utterances, {len(ood)} out-of-domain; test {len(data['test'])} "
          f"+ {len(data['ood_test'])} out-of-domain; {len(dropped)} rows dropped", flush=True)

    members = [("default", config)]
    if args.intent_encoder:
        settings = {"encoder": {"type": args.intent_encoder}, "lexical": {"type": "ngrams"}}
        members.append((f"{args.intent_encoder}+ngrams", BotConfig.model_validate(
            {**config.model_dump(mode="json"), "settings": settings})))
    rows: list[dict[str, Any]] = []
    entity: dict[str, float | None] = {}
    floors: dict[str, Any] = {}
    for name, member_config in members:
        model = Model(member_config)
        started = time.perf_counter()
        held = fit_recording(model, examples, ood)
        print(f"[{name}] trained in {time.perf_counter() - started:.1f} s; held-out {len(held.examples)} "
              f"+ {len(held.ood_examples)} out-of-domain", flush=True)
        docs = {"test": model.analyze([t for t, _, _ in data["test"]]), "ood_test": model.analyze(data["ood_test"])}
        floors = floors or fit_floors(model, held, data, examples, docs)
        rows += measure(name, model, held, data, floors, docs)
        for row in rows:
            if "oracle_in_scope_at_test_oos_recall_0.75" in row:
                row["in_scope_at_oos_0.75"] = row["oracle_in_scope_at_test_oos_recall_0.75"]
        entity[name] = entity_f1(model, data, docs["test"])
        loadavg.append(os.getloadavg())
        print(up.format_table(rows, COLUMNS), flush=True)
    if args.baseline:
        rows.append(sklearn_floor(data))
    print()
    print(up.format_table(rows, COLUMNS))
    if any(v is not None for v in entity.values()):
        print("entity F1 (each member's own tagger):", json.dumps(entity))
    up.save(out, {
        "benchmark": f"floor-blend-{args.data}",
        "protocol": __doc__.split("Run:")[0].strip() if __doc__ else "",
        "command": up.command_line(),
        "machine": up.machine(),
        "load_average": loadavg,
        "limit": args.limit,
        "data": {"train": len(examples), "train_ood": len(ood), "test": len(data["test"]),
                 "ood_test": len(data["ood_test"]), "rows_dropped": dropped},
        "entity_f1": entity,
        "rows": rows,
    })


if __name__ == "__main__":
    main()
