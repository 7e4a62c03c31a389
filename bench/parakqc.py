"""ParaKQC as a bot: Korean few-shot intents, 1,000 intents of 7 training utterances each.

Data: Cho et al. 2020, ParaKQC v1, read by path from ../shared/data/parakqc/paraKQC_v1.txt: 10,000
Korean questions and commands in 1,000 sets of 10 paraphrases (lines 10k..10k+9 are one set).

Protocol (the user-path check ../shared/check/parakqc):
- each set is an intent (``set0000`` ...); its first 7 utterances train, its last 3 test
  (7,000 / 3,000); the bot is ``data/intents/<set>.csv``, Korean, no out-of-domain data, no
  settings in bot.yaml (malmoi's defaults, so its fallback refuses about 1 % of held-out requests);
- ``malmoi train``, then ``malmoi parse`` on the 3,000 test utterances;
- accuracy including false fallback: the right intent and no fallback (what a user gets);
  top-1 ignoring fallback: ``intent_ranking[0]`` is the right intent; false-fallback rate: the
  share of (all in-domain) test utterances that fell back.

Classical floor, same split (``--no-baseline`` skips it): TF-IDF (word 1-2-grams + character
1-4-grams), one-vs-rest logistic regression, top-1 (it never falls back).

Run (full):
    python bench/parakqc.py [--variant NAME=JSON ...]
Smoke test:
    OMP_NUM_THREADS=1 python bench/parakqc.py --limit 30 --intents 40
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import _userpath as up

DATA = up.DATA / "parakqc" / "paraKQC_v1.txt"
COLUMNS = ["name", "accuracy", "top1_accuracy", "false_fallback_rate", "train_seconds"]


def load(intents: int | None, limit: int | None) -> tuple[list[up.Example], list[up.Example]]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t")[2].strip() for line in lines if line.count("\t") >= 2]
    train: list[up.Example] = []
    test: list[up.Example] = []
    for i, text in enumerate(rows):
        if intents and i // 10 >= intents:
            break
        (train if i % 10 < 7 else test).append((text.split(), f"set{i // 10:04d}", None))
    return up.per_intent(train, lambda x: x[1], limit), up.spread(test, limit)


def figures(results: list[dict[str, Any]], test: list[up.Example]) -> dict[str, Any]:
    n = len(test)
    return {
        "accuracy": sum(up.intent_of(r) == x[1] for r, x in zip(results, test)) / n,
        "top1_accuracy": sum(up.top1_of(r) == x[1] for r, x in zip(results, test)) / n,
        "false_fallback_rate": sum(bool(r.get("fallback")) for r in results) / n,
    }


def classical_floor(train: list[up.Example], test: list[up.Example]) -> dict[str, Any]:
    started = time.perf_counter()
    model = up.classical_intent_model().fit([" ".join(w) for w, _, _ in train], [x[1] for x in train])
    seconds = time.perf_counter() - started
    predicted = model.predict([" ".join(w) for w, _, _ in test])
    top1 = sum(p == x[1] for p, x in zip(predicted, test)) / len(test)
    return {"name": "tf-idf + logreg (floor)", "model": up.CLASSICAL_INTENT, "accuracy": top1,
            "top1_accuracy": top1, "false_fallback_rate": 0.0, "train_seconds": round(seconds, 2)}


def main() -> None:
    parser = up.parser(__doc__, "parakqc", baseline="TF-IDF + logistic regression")
    parser.add_argument("--intents", type=int, metavar="K", help="smoke test: only the first K sets of paraphrases")
    args = parser.parse_args()

    train, test = load(args.intents, args.limit)
    print(f"ParaKQC: {len(train)} training utterances, {len({x[1] for x in train})} intents; "
          f"{len(test)} test", flush=True)
    texts = [" ".join(words) for words, _, _ in test]

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_csv(bot, train, language="ko", name="parakqc", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, texts, timeout=args.timeout)
        return figures(results, test), seconds

    rows = up.run_all(up.workdir("parakqc"), up.runs(args.variant), write_bot, evaluate, timeout=args.timeout)
    floor = classical_floor(train, test) if args.baseline else None

    print()
    print(up.format_table([r for r in rows if "error" not in r] + ([floor] if floor else []), COLUMNS))
    up.save(args.out, up.result(
        "parakqc",
        "each set of 10 paraphrases is an intent: first 7 train, last 3 test; bot without out-of-domain "
        "data; accuracy = right intent and no fallback; top1 = intent_ranking[0]",
        args,
        data={"train": len(train), "test": len(test), "intents": len({x[1] for x in train})},
        rows=rows,
        classical_floor=floor,
    ))


if __name__ == "__main__":
    main()
