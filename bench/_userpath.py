"""Shared helpers for the user-path benchmarks in bench/: write a bot, train, parse, score.

Every benchmark drives malmoi only the way a user does: it writes a bot directory (Kochat-style
per-intent CSV with an optional ``data/ood/``, or inline YAML), runs ``malmoi train BOT --out MODEL``
with the settings in bot.yaml, and ``malmoi parse MODEL --input in.jsonl --output out.jsonl``; the
figures are computed here from the parse output. The command line runs as
``[sys.executable, "-m", "malmoi.cli", ...]``, so it uses this interpreter and its PYTHONPATH.

The splits and metric definitions are those of the project's user-path checks
(``../shared/check/harness.py``); this module re-implements them so that the benchmarks live in the
repository, and the default row of each benchmark reproduces the check's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.metadata
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import _cli

ROOT = _cli.ROOT
DATA = ROOT.parent / "shared" / "data"  # ../shared/data from the repository root; read by path, never copied
RESULTS = _cli.RESULTS
FALLBACK = "__fallback__"  # what `intent_of` answers for a fallback; no data set has an intent of that name

Span = tuple[int, int, str]  # (start, end, type), character offsets into the parsed text
Example = tuple[list[str], str, list[str] | None]  # (words, intent, word tags or None), as the checks keep them
T = TypeVar("T")


class BenchError(Exception):
    """malmoi refused the data or a command failed; the message has the command's own words."""


# --- command line of the benchmarks ---------------------------------------------------------------


def limit_type(value: str) -> int:
    n = int(value)
    if n < 5:
        raise argparse.ArgumentTypeError("--limit must be at least 5: malmoi needs 5 examples per intent")
    return n


def variant_type(value: str) -> tuple[str, dict[str, Any]]:
    """``NAME=JSON`` -> (name, settings): the settings block of that row's bot.yaml."""
    name, sep, raw = value.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9_.+-]+", name) or name == "default":
        raise argparse.ArgumentTypeError(
            f"expected NAME=JSON with NAME of letters, digits and _.+- (not 'default'), like "
            f'bilstm=\'{{"encoder": {{"type": "bilstm"}}}}\'; got {value!r}'
        )
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"variant {name}: settings are not JSON ({exc.msg}): {raw!r}") from None
    if not isinstance(settings, dict):
        raise argparse.ArgumentTypeError(f"variant {name}: settings must be a JSON object, not {raw!r}")
    return name, settings


def parser(doc: str | None, name: str, *, baseline: str | None = None) -> argparse.ArgumentParser:
    """The options every benchmark shares: --limit, --out, --variant, --timeout (and --no-baseline)."""
    p = _cli.Parser(description=doc)
    p.add_argument(
        "--limit",
        type=limit_type,
        metavar="N",
        help="smoke test: only N training utterances of each intent (and N out-of-domain ones) and N "
        "test utterances (and N out-of-domain ones), each evenly spaced through its rows",
    )
    p.add_out(RESULTS / f"{name}.json")
    p.add_argument(
        "--variant",
        type=variant_type,
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="repeatable: one more row, trained with this JSON as bot.yaml's `settings:` "
        "(the default row, without settings, always comes first)",
    )
    p.add_argument(
        "--timeout", type=float, default=4 * 3600, metavar="SECONDS", help="for each malmoi command (default 4 h)"
    )
    if baseline:
        p.add_argument(
            "--no-baseline", dest="baseline", action="store_false", help=f"skip the classical floor ({baseline})"
        )
    return p


def runs(variants: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The default row first, then each variant in the order given (a name given twice is an error)."""
    names = [n for n, _ in variants]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SystemExit(f"variant name given twice: {', '.join(dupes)}")
    return [("default", {}), *variants]


# --- data selection -------------------------------------------------------------------------------


def per_intent(rows: Iterable[T], intent: Callable[[T], str], n: int | None) -> list[T]:
    """``n`` rows of each intent, evenly spaced through that intent's rows (public files are often
    sorted by template, so the first ``n`` would be unrepresentative); original order kept."""
    rows = list(rows)
    if n is None:
        return rows
    by_intent: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_intent.setdefault(intent(row), []).append(i)
    kept = sorted(i for indices in by_intent.values() for i in spread(indices, n))
    return [rows[i] for i in kept]


def spread(rows: Sequence[T], n: int | None) -> list[T]:
    """``n`` rows evenly spaced over ``rows`` (every intent of a sorted test split is visited)."""
    if n is None or n >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // n] for i in range(n)]


# --- bot directories ------------------------------------------------------------------------------


def workdir(name: str) -> Path:
    """A fresh folder under the system temp dir (``malmoi-bench/<name>``); the last run's is replaced."""
    d = Path(tempfile.gettempdir()) / "malmoi-bench" / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def safe_intent(name: str) -> str:
    return name.replace("/", "_")


def write_config(bot: Path, *, name: str, language: str, settings: dict[str, Any]) -> None:
    """bot.yaml: name and language; a `settings:` block only when a variant gives one."""
    import yaml  # a dependency of malmoi itself

    config: dict[str, Any] = {"name": name, "language": language}
    if settings:
        config["settings"] = settings
    bot.mkdir(parents=True, exist_ok=True)
    (bot / "bot.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def write_bot_csv(
    bot: Path,
    examples: Iterable[Example],
    ood: Iterable[str] = (),
    *,
    language: str,
    name: str,
    settings: dict[str, Any],
) -> None:
    """Kochat-style bot: ``data/intents/<intent>.csv`` (question, label: one tag per word; all ``O``
    when the data has no entities) and, when given, ``data/ood/ood.csv``."""
    write_config(bot, name=name, language=language, settings=settings)
    (bot / "data" / "intents").mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[tuple[list[str], list[str] | None]]] = {}
    for words, intent, tags in examples:
        by_intent.setdefault(safe_intent(intent), []).append((words, tags))
    for intent, rows in by_intent.items():
        with open(bot / "data" / "intents" / f"{intent}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["question", "label"])
            for words, tags in rows:
                w.writerow([" ".join(words), " ".join(tags) if tags else " ".join("O" for _ in words)])
    ood = list(ood)
    if ood:
        (bot / "data" / "ood").mkdir(parents=True, exist_ok=True)
        with open(bot / "data" / "ood" / "ood.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["question"])
            for text in ood:
                w.writerow([text])


def _yaml_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_bot_inline(
    bot: Path,
    examples: Iterable[tuple[str, str, Sequence[Span]]],
    *,
    language: str,
    name: str,
    settings: dict[str, Any],
) -> int:
    """Inline-annotated YAML bot (``[value](TYPE)``). examples: (text, intent, spans). Returns the rows
    skipped because their text holds ``[`` or ``]`` (reserved by the inline format) or a newline."""
    write_config(bot, name=name, language=language, settings=settings)
    (bot / "data" / "intents").mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[str]] = {}
    skipped = 0
    for text, intent, spans in examples:
        if "[" in text or "]" in text or "\n" in text:
            skipped += 1
            continue
        out, pos = [], 0
        for s, e, typ in sorted(spans):
            out.append(text[pos:s])
            out.append(f"[{text[s:e]}]({typ})")
            pos = e
        out.append(text[pos:])
        by_intent.setdefault(safe_intent(intent), []).append("".join(out))
    lines = ["intents:"]
    for intent, rows in by_intent.items():
        lines.append(f"  {intent}:")
        lines += [f"    - {_yaml_quote(r)}" for r in rows]
    (bot / "data" / "intents" / "intents.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return skipped


# --- the command line -----------------------------------------------------------------------------


def _env(threads: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Absolute, so that `PYTHONPATH=src` still finds this checkout's malmoi from any folder.
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def malmoi_cli(*args: str | Path, timeout: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``malmoi ARGS`` with this interpreter; (wall seconds, completed process)."""
    cmd = [sys.executable, "-m", "malmoi.cli", *map(str, args)]
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=_env())
    except subprocess.TimeoutExpired:
        raise BenchError(f"`malmoi {args[0]}` ran past {timeout:.0f} s") from None
    return time.perf_counter() - started, done


def _tail(p: subprocess.CompletedProcess[str], n: int = 600) -> str:
    return (p.stderr.strip() or p.stdout.strip())[-n:]


_ERROR_LINE = re.compile(r"^(?P<file>/\S+?):(?P<line>\d+): error:", re.MULTILINE)


def drop_error_rows(bot: Path, timeout: float) -> list[str]:
    """Do what a user does with `malmoi validate`'s report (and what the checks do): delete each data
    row it calls an error. Returns the rows dropped, as ``file:line`` relative to the bot."""
    _, p = malmoi_cli("validate", bot, timeout=timeout)
    data = (bot / "data").resolve()
    bad: dict[Path, set[int]] = {}
    for m in _ERROR_LINE.finditer(p.stdout + p.stderr):
        path = Path(m.group("file")).resolve()
        if path.is_relative_to(data):  # never edit bot.yaml: an error there is the variant's to fix
            bad.setdefault(path, set()).add(int(m.group("line")))
    dropped = []
    for path, lines in sorted(bad.items()):
        rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(r for i, r in enumerate(rows, 1) if i not in lines), encoding="utf-8")
        dropped += [f"{path.relative_to(bot.resolve())}:{i}" for i in sorted(lines)]
    return dropped


@dataclass
class Trained:
    """One ``malmoi train`` run that succeeded."""

    model: Path
    seconds: float  # wall time of the `malmoi train` subprocess that produced the model
    message: str  # its last line ("Saved ... in N s (validation: ...; fallback threshold ...)")
    dropped_rows: list[str] = field(default_factory=list)
    refused_seconds: float | None = None  # the first, refused attempt, when rows had to be dropped


def train(bot: Path, model: Path, *, timeout: float) -> Trained:
    """``malmoi train BOT --out MODEL``. If malmoi refuses the data, drop the rows `malmoi validate`
    names as errors and train once more, as a user following the hints (and the checks) would."""
    args = ("train", bot.resolve(), "--out", model.resolve(), "--quiet")
    secs, p = malmoi_cli(*args, timeout=timeout)
    dropped: list[str] = []
    refused = None
    if p.returncode != 0:
        dropped = drop_error_rows(bot, timeout)
        if not dropped:
            raise BenchError(f"malmoi train failed ({p.returncode}): {_tail(p)}")
        print(
            f"  malmoi refused the data; dropped the {len(dropped)} rows that `malmoi validate` named as errors",
            flush=True,
        )
        refused = secs
        secs, p = malmoi_cli(*args, timeout=timeout)
        if p.returncode != 0:
            raise BenchError(f"malmoi train failed ({p.returncode}) after dropping error rows: {_tail(p)}")
    lines = p.stdout.strip().splitlines()
    return Trained(model, secs, lines[-1] if lines else "", dropped, refused)


def parse(model: Path, texts: Sequence[str], *, timeout: float) -> tuple[list[dict[str, Any]], float]:
    """``malmoi parse MODEL --input in.jsonl --output out.jsonl``: the results, and wall seconds."""
    d = Path(tempfile.mkdtemp(prefix="malmoi-parse-"))
    try:
        src, dst = d / "in.jsonl", d / "out.jsonl"
        src.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
        secs, p = malmoi_cli("parse", model, "--input", src, "--output", dst, timeout=timeout)
        if p.returncode != 0:
            raise BenchError(f"malmoi parse failed ({p.returncode}): {_tail(p)}")
        out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines() if line.strip()]
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if len(out) != len(texts):
        raise BenchError(f"malmoi parse returned {len(out)} results for {len(texts)} inputs")
    return out, secs


def model_facts(model: Path) -> dict[str, Any]:
    """What the saved model says about itself (model.json): resolved settings, threshold, epochs."""
    try:
        meta = json.loads((model / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    report = meta.get("report") or {}
    return {
        "resolved_settings": (meta.get("config") or {}).get("settings"),
        "threshold": meta.get("threshold"),
        "malmoi_train_seconds": report.get("train_seconds"),  # malmoi's own clock, inside the subprocess
        "epochs_run": report.get("epochs_run"),
        "best_epoch": report.get("best_epoch"),
        "refit": report.get("refit"),
        "examples": report.get("examples"),
        "calibration": report.get("calibration"),
        "seconds": report.get("seconds"),
    }


def directory_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


# --- metrics --------------------------------------------------------------------------------------


def intent_of(result: dict[str, Any]) -> str:
    """The intent a user acts on: ``FALLBACK`` when the model fell back."""
    return FALLBACK if result.get("fallback") else str(result["intent"]["name"])


def top1_of(result: dict[str, Any]) -> str | None:
    """The best-ranked intent, fallback or not."""
    ranking = result.get("intent_ranking") or [{}]
    name = ranking[0].get("name")
    return None if name is None else str(name)


def top_confidence(result: dict[str, Any]) -> float:
    """``intent_ranking[0].confidence``: the only score the parse output gives (used for AUROC)."""
    ranking = result.get("intent_ranking") or [{}]
    return float(ranking[0].get("confidence", 0.0))


def auroc(in_domain: Sequence[float], out_of_domain: Sequence[float]) -> float:
    """Probability that an in-domain utterance scores above an out-of-domain one (ties count half)."""
    if not len(in_domain) or not len(out_of_domain):
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(in_domain) + [0] * len(out_of_domain), [*in_domain, *out_of_domain]))


def spans_from_tags(words: Sequence[str], tags: Sequence[str]) -> set[Span]:
    """Character spans (start, end, type) in ``' '.join(words)`` from BIO/BIOES/BILOU word tags."""
    spans: set[Span] = set()
    cur: list[Any] | None = None
    offsets, pos = [], 0
    for w in words:
        offsets.append((pos, pos + len(w)))
        pos += len(w) + 1
    for (s, e), tag in zip(offsets, tags):
        prefix, _, typ = tag.partition("-")
        if tag == "O" or not typ:
            if cur:
                spans.add((cur[0], cur[1], cur[2]))
                cur = None
            continue
        if prefix in ("B", "S", "U") or cur is None or cur[2] != typ:
            if cur:
                spans.add((cur[0], cur[1], cur[2]))
            cur = [s, e, typ]
        else:
            cur[1] = e
        if prefix in ("S", "U", "E", "L"):
            spans.add((cur[0], cur[1], cur[2]))
            cur = None
    if cur:
        spans.add((cur[0], cur[1], cur[2]))
    return spans


def inline_spans(marked: str, pattern: str = r"<([^<>:]+):([A-Z]{2})>") -> tuple[str, list[Span]]:
    """``'<홍길동:PS>이보다'`` -> ``('홍길동이보다', [(0, 3, 'PS')])``: KMOU / KLUE inline entities."""
    text: list[str] = []
    spans: list[Span] = []
    pos = n = 0
    for m in re.finditer(pattern, marked):
        chunk = marked[pos : m.start()]
        text.append(chunk)
        n += len(chunk)
        spans.append((n, n + len(m.group(1)), m.group(2)))
        text.append(m.group(1))
        n += len(m.group(1))
        pos = m.end()
    text.append(marked[pos:])
    return "".join(text), spans


def predicted_spans(result: dict[str, Any]) -> set[Span]:
    return {(int(e["start"]), int(e["end"]), str(e["entity"])) for e in result.get("entities", [])}


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def span_scores(predicted: Iterable[set[Span]], gold: Iterable[set[Span]]) -> dict[str, Any]:
    """Exact (start, end, type) span precision, recall, F1, micro over all spans (conlleval), and
    the same per type."""
    counts: dict[str, list[int]] = {}  # type -> [tp, predicted, gold]
    for p, g in zip(predicted, gold):
        for span in p:
            counts.setdefault(span[2], [0, 0, 0])[1] += 1
        for span in g:
            c = counts.setdefault(span[2], [0, 0, 0])
            c[2] += 1
            c[0] += span in p
    tp, n_pred, n_gold = (sum(c[i] for c in counts.values()) for i in range(3))
    precision, recall, f1 = prf(tp, n_pred, n_gold)
    per_type = {}
    for typ, (t, np_, ng) in sorted(counts.items()):
        tp_p, tp_r, tp_f = prf(t, np_, ng)
        per_type[typ] = {"precision": tp_p, "recall": tp_r, "f1": tp_f, "support": ng, "predicted": np_}
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "gold": n_gold,
        "predicted": n_pred,
        "per_type": per_type,
    }


def fallback_scores(in_domain: Sequence[dict[str, Any]], out_of_domain: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Out-of-domain = fallback: recall, precision, F1, false-fallback rate, AUROC of the top confidence."""
    caught = sum(bool(r.get("fallback")) for r in out_of_domain)
    false_alarms = sum(bool(r.get("fallback")) for r in in_domain)
    recall = caught / len(out_of_domain) if out_of_domain else float("nan")
    precision = caught / (caught + false_alarms) if caught + false_alarms else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "oos_recall": recall,
        "oos_precision": precision,
        "oos_f1": f1,
        "false_fallback_rate": false_alarms / len(in_domain) if in_domain else float("nan"),
        "auroc_top_confidence": auroc(
            [top_confidence(r) for r in in_domain], [top_confidence(r) for r in out_of_domain]
        ),
    }


# --- speed and memory, through the Python API ----------------------------------------------------

_LATENCY_CODE = """\
import json, sys, time
import torch
torch.set_num_threads(1)
import malmoi
m = malmoi.load(sys.argv[1])
texts = json.load(open(sys.argv[2], encoding="utf-8"))
for t in texts[:20]:
    m.parse(t)
ts = []
for t in texts:
    a = time.perf_counter(); m.parse(t); ts.append((time.perf_counter() - a) * 1000)
ts.sort()
print(json.dumps({"p50_ms": ts[len(ts) // 2], "p99_ms": ts[int(len(ts) * 0.99)], "calls": len(ts)}))
"""


def latency_ms(model: Path, texts: Sequence[str], n: int = 300, timeout: float = 600) -> dict[str, Any]:
    """p50 and p99 of one-utterance ``Model.parse`` on one thread (``OMP_NUM_THREADS=1``,
    ``torch.set_num_threads(1)``) in a fresh process, after 20 warm-up parses: the first ``n`` texts."""
    path = _json_file(list(texts[:n]))
    try:
        return _python(_LATENCY_CODE, [str(model), path], timeout)
    finally:
        os.unlink(path)


_MEMORY_CODE = """\
import json, sys
import psutil
proc = psutil.Process()
import malmoi
from malmoi.text import get_tokenizer
get_tokenizer(sys.argv[2]).tokenize("내일 서울 날씨 알려줘 what is the weather")
base = proc.memory_info().rss
m = malmoi.load(sys.argv[1])
m.parse(sys.argv[3])
loaded = proc.memory_info().rss
print(json.dumps({"rss_base_mb": base / 2**20, "rss_loaded_mb": loaded / 2**20, "model_rss_mb": (loaded - base) / 2**20,
                  "torch_imported": "torch" in sys.modules}))
"""


def loaded_model_memory(model: Path, language: str, sample: str, timeout: float = 600) -> dict[str, Any]:
    """Resident memory a loaded model costs: RSS after ``malmoi.load`` and one parse, minus RSS after
    ``import malmoi`` and a tokenizer warm-up (Kiwi for Korean), in a fresh one-thread process."""
    return _python(_MEMORY_CODE, [str(model), language, sample], timeout)


def _json_file(value: Any) -> str:
    fd, path = tempfile.mkstemp(prefix="malmoi-bench-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False)
    return path


def _python(code: str, args: list[str], timeout: float) -> dict[str, Any]:
    p = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(threads=1),
    )
    if p.returncode != 0:
        raise BenchError(f"measurement process failed: {_tail(p)}")
    result: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return result


# --- the classical floor --------------------------------------------------------------------------

CLASSICAL_INTENT = (
    "TF-IDF of word 1-2-grams and character 1-4-grams (char_wb, sublinear tf, L2 rows), "
    "one-vs-rest logistic regression (liblinear, C=10); the intent is the arg-max probability"
)


def classical_intent_model() -> Any:
    """The classical floor: word 1-2-gram + character 1-4-gram TF-IDF, logistic regression.

    One-vs-rest with liblinear rather than a multinomial L-BFGS fit: with 1,000 intents (ParaKQC)
    the L-BFGS history alone would need several GB; the accuracy is the same within noise.
    C=10: TF-IDF rows have unit norm, so the default C=1 underfits many intents.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
    )
    return make_pipeline(features, OneVsRestClassifier(LogisticRegression(C=10.0, solver="liblinear")))


# --- reporting ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import malmoi

    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=False, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], check=False, capture_output=True, text=True
    )
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        "torch": version("torch"),
        "kiwipiepy": version("kiwipiepy"),
        "scikit-learn": version("scikit-learn"),
        "malmoi": malmoi.__version__,
        "malmoi_source": str(Path(malmoi.__file__).resolve().parent),
        "git_commit": git.stdout.strip() or None,
        "src_modified": bool(dirty.stdout.strip()),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def command_line() -> str:
    return shlex.join(["python", *sys.argv])


def run_record(
    name: str, settings: dict[str, Any], trained: Trained, parse_seconds: float, figures: dict[str, Any]
) -> dict[str, Any]:
    """One row of a result file: the settings written to bot.yaml, the figures, the times."""
    return {
        "name": name,
        "settings": settings,
        **figures,
        "train_seconds": round(trained.seconds, 2),
        "parse_seconds": round(parse_seconds, 2),
        "rows_dropped": trained.dropped_rows,
        "train_message": trained.message,
        "model": model_facts(trained.model),
    }


def run_all(
    work: Path,
    plan: Sequence[tuple[str, dict[str, Any]]],
    write_bot: Callable[[Path, dict[str, Any]], None],
    evaluate: Callable[[Trained], tuple[dict[str, Any], float]],
    *,
    timeout: float,
) -> list[dict[str, Any]]:
    """Train and score each (name, settings) row: ``write_bot(bot_dir, settings)`` writes the bot,
    ``evaluate(trained)`` parses the test split and returns (figures, parse seconds). A variant that
    fails is recorded with its error; the default row failing stops the benchmark."""
    rows = []
    for name, settings in plan:
        print(f"[{name}] settings: {json.dumps(settings) if settings else '(defaults)'}", flush=True)
        bot, model = work / name / "bot", work / name / "model"
        write_bot(bot, settings)
        try:
            trained = train(bot, model, timeout=timeout)
            print(f"  trained in {trained.seconds:.1f} s: {trained.message}", flush=True)
            figures, parse_seconds = evaluate(trained)
        except BenchError as exc:
            if name == "default":
                raise SystemExit(f"[default] {exc}") from None
            print(f"  failed: {exc}", flush=True)
            rows.append({"name": name, "settings": settings, "error": str(exc)})
            continue
        rows.append(run_record(name, settings, trained, parse_seconds, figures))
    return rows


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table; shares and rates with 4 decimals, seconds, ms and MB with 2."""

    def cell(column: str, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return "" if value is None else str(value)
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            return f"{value:.2f}" if column.endswith(("seconds", "_ms", "_mb")) else f"{value:.4f}"
        return str(value)

    cells = [[cell(c, r.get(c)) for c in columns] for r in rows]
    left = [all(isinstance(r.get(c), str) or r.get(c) is None for r in rows) for c in columns]  # text columns
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [
        "  ".join(v.ljust(w) if lj else v.rjust(w) for v, w, lj in zip(row, widths, left)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def save(out: Path, result: dict[str, Any]) -> None:
    _cli.save_json(out, result)


def result(benchmark: str, protocol: str, args: argparse.Namespace, **rest: Any) -> dict[str, Any]:
    """The head of every result file: what ran, where, how, on which data."""
    return {
        "benchmark": benchmark,
        "script": Path(sys.argv[0]).stem,  # the bench/ module, whose COLUMNS `variants.py --summary` shows
        "protocol": protocol,
        "command": command_line(),
        "machine": machine(),
        "limit": args.limit,
        **rest,
    }
