"""Named settings variants for the user-path benchmarks, and a summary of saved results.

A variant is only a ``settings:`` block of bot.yaml (no patching of malmoi's code): this script runs
one benchmark of bench/ with the variants named, each as ``--variant NAME=JSON`` of that benchmark,
which trains the default row first and then one row per variant, all through ``malmoi train``.
Options it does not know (``--limit``, ``--no-ood``, ``--intents`` ...) go to the benchmark as they
are. The classical floor is skipped (``--no-baseline``) unless ``--baseline`` is given: the
benchmark's own default run has it. Results go to ``bench/results/variants/<benchmark>+<names>.json``.

    python bench/variants.py --list
    python bench/variants.py snips bilstm softmax-tags intent-tag-bias
    python bench/variants.py clinc150 cross-entropy center --no-ood
    python bench/variants.py kochat_demo --variant dim256='{"encoder": {"dim": 256}}'
    OMP_NUM_THREADS=1 python bench/variants.py parakqc no-lexical --limit 30 --intents 40   # smoke test
    python bench/variants.py --summary    # every saved result, one table per benchmark
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import _cli
import _userpath as up

BENCH = Path(__file__).resolve().parent
# benchmark script -> whether it has a classical floor (and so --no-baseline)
SCRIPTS = {"clinc150": True, "parakqc": True, "snips": True, "kmou_ner": True, "kochat_demo": False}

# name -> (settings block, what it tests)
VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "bilstm": ({"encoder": {"type": "bilstm"}}, "BiLSTM encoder (whole-sentence context) instead of the CNN"),
    "cnn4": ({"encoder": {"type": "cnn", "layers": 4}}, "CNN of 4 layers: each token sees 9 instead of 5"),
    "cnn-k5": ({"encoder": {"type": "cnn", "kernel_size": 5}}, "CNN with kernel 5: each token sees 9 over 2 layers"),
    "dim256": ({"encoder": {"dim": 256}}, "twice the encoder width"),
    "no-morpheme-vectors": ({"encoder": {"morpheme_vectors": False}}, "without Kiwi's pretrained morpheme vectors"),
    "no-lexical": ({"lexical": "none"}, "intent head on the encoder's sentence vector alone, no sparse n-grams"),
    "cross-entropy": ({"intent": {"loss": "cross_entropy"}}, "plain softmax cross-entropy for intents"),
    "center": ({"intent": {"loss": "center"}}, "CenterLoss for intents"),
    "coco": ({"intent": {"loss": "coco"}}, "COCO (congenerous cosine) loss for intents"),
    "gaussian-mixture": ({"intent": {"loss": "gaussian_mixture"}}, "large-margin Gaussian mixture loss"),
    "ood-recall": ({"intent": {"threshold": "ood_recall"}}, "threshold catches 90 % of held-out out-of-domain"),
    "no-fallback": ({"intent": {"fallback": False}}, "never fall back: the plain classifier's answers"),
    "softmax-tags": ({"entity": {"crf": False}}, "per-token softmax tagging instead of the CRF"),
    "intent-tag-bias": ({"entity": {"intent_tag_bias": True}}, "entity tags biased by the sentence vector"),
    "epochs40": ({"training": {"epochs": 40}}, "40 epochs instead of 'auto' (about 1,200 steps)"),
    "patience8": ({"training": {"patience": 8}}, "early stopping after 8 epochs without improvement"),
    "no-refit": ({"training": {"refit": False}}, "no second pass on every example"),
    "refit": ({"training": {"refit": True}}, "always a second pass on every example"),
}


def run(
    script: str,
    names: list[str],
    extra: list[tuple[str, dict[str, Any]]],
    baseline: bool,
    out: Path | None,
    passthrough: list[str],
) -> int:
    variants = [(n, VARIANTS[n][0]) for n in names] + extra
    if not variants:
        raise SystemExit("name at least one variant (see --list) or give --variant NAME=JSON")
    out = out or up.RESULTS / "variants" / f"{script}+{'+'.join(n for n, _ in variants)}.json"
    cmd = [sys.executable, str(BENCH / f"{script}.py"), "--out", str(out)]
    cmd += [f"--variant={n}={json.dumps(s)}" for n, s in variants]
    if SCRIPTS[script] and not baseline:
        cmd.append("--no-baseline")
    cmd += passthrough
    print("$ " + " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, check=False).returncode


def summary(results: Path, out: Path) -> None:
    """One table per benchmark of every row saved under ``results`` (smoke runs marked by their limit)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    columns: dict[str, list[str]] = {}
    skipped = []
    for path in sorted(results.rglob("*.json")):
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            skipped.append(path)
            continue
        if not isinstance(saved, dict) or not isinstance(saved.get("machine"), dict) or "script" not in saved:
            skipped.append(path)  # written by an older benchmark, or not a benchmark result
            continue
        module = importlib.import_module(saved["script"])
        columns.setdefault(saved["benchmark"], ["file", "limit", *module.COLUMNS, "date"])
        floor = saved.get("classical_floor")
        for row in [*saved["rows"], *([floor] if floor else [])]:
            tables.setdefault(saved["benchmark"], []).append(
                {
                    **row,
                    "file": str(path.relative_to(results)),
                    "limit": saved.get("limit"),
                    "date": saved["machine"].get("date", "")[:10],
                    "name": row["name"] + (" (failed: see the file)" if "error" in row else ""),
                }
            )
    text = []
    for benchmark, rows in tables.items():
        text += [f"## {benchmark}", "", up.format_table(rows, columns[benchmark]), ""]
    if skipped:
        text.append(
            "not benchmark results of bench/*.py (older format or other files): "
            + ", ".join(str(p.relative_to(results)) for p in skipped)
        )
    print("\n".join(text))
    _cli.checked_out(out)
    blocks = "\n".join(f"```\n{line}\n```" if "\n" in line else line for line in text)
    _cli.write_text(out, f"{_cli.SUMMARY_HEAD}\n\n{blocks}\n")
    print(f"\nsaved {out}")


def main() -> None:
    parser = _cli.Parser(description=__doc__)
    parser.add_argument("script", nargs="?", choices=list(SCRIPTS), help="the benchmark to run")
    parser.add_argument("names", nargs="*", metavar="VARIANT", help="named variants (see --list)")
    parser.add_argument(
        "--variant",
        type=up.variant_type,
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="repeatable: an unnamed variant, as in the benchmarks",
    )
    parser.add_argument("--baseline", action="store_true", help="also run the benchmark's classical floor")
    parser.add_out(None, what="result JSON (default bench/results/variants/<benchmark>+<names>.json)")
    parser.add_argument("--list", action="store_true", help="the named variants and their settings")
    parser.add_argument("--summary", action="store_true", help="print and save a table of every saved result")
    parser.add_argument(
        "--results", type=Path, default=up.RESULTS, help="where --summary looks (default bench/results)"
    )
    parser.add_argument(
        "--summary-out",
        type=Path,
        default=up.RESULTS / "summary.md",
        help="where --summary writes (default bench/results/summary.md; only a summary it wrote is replaced)",
    )
    args, passthrough = parser.parse_known_args()
    if args.summary:
        _cli.checked_out(args.summary_out)
    unknown = [n for n in args.names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; named ones: {', '.join(VARIANTS)}")
    if args.list:
        for name, (settings, what) in VARIANTS.items():
            print(f"{name:20} {json.dumps(settings):55} {what}")
    code = 0
    if args.script:
        code = run(args.script, args.names, args.variant, args.baseline, args.out, passthrough)
    elif passthrough or args.names or args.variant:
        parser.error("name the benchmark first: python bench/variants.py BENCHMARK VARIANT ...")
    if args.summary:
        summary(args.results, args.summary_out)
    if not (args.list or args.script or args.summary):
        parser.print_help()
    sys.exit(code)


if __name__ == "__main__":
    main()
