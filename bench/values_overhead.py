"""What entity values cost a parse: p50 of ``Model.parse`` (one thread) on the Kochat demo sentences,
for a trained model as it is (no values) and with a system-values part of every kind added, and a
10,000-value dictionary part's load and match times.

    python bench/values_overhead.py MODEL_DIR [--texts N]

MODEL_DIR: a trained model without values (``python ../shared/check/kochat-demo`` leaves one in
``$TMPDIR/malmoi-check/foundation/model``). Prints JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import torch

import malmoi
from malmoi.entity.extractors import DictionaryExtractor, DictionarySettings, SystemValues, SystemValuesSettings
from malmoi.entity.values.dictionary import match_key
from malmoi.labels import SYSTEM_KINDS
from malmoi.text import Analyzer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kochat-demo" / "raw"


def p50_ms(model: malmoi.Model, texts: list[str], variants: dict[str, dict], rounds: int = 5) -> dict[str, float]:
    """p50 wall and CPU (this thread's) milliseconds of a parse per variant of the model's parts, the
    variants taking turns text by text, so that a busy machine slows them alike."""
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for text in texts[:20]:
        model.parse(text)
    for round_ in range(rounds):
        for text in texts:
            order = list(variants.items())  # first and second by turns: the second parse of a text may be faster
            for name, parts in order if round_ % 2 == 0 else order[::-1]:
                model.parts = parts
                started, started_cpu = time.perf_counter(), time.thread_time()
                model.parse(text)
                cpu[name].append((time.thread_time() - started_cpu) * 1000)
                wall[name].append((time.perf_counter() - started) * 1000)
    return {**{f"p50_ms_{name}": round(statistics.median(wall[name]), 4) for name in variants},
            **{f"p50_cpu_ms_{name}": round(statistics.median(cpu[name]), 4) for name in variants}}


def dictionary_figures(texts: list[str]) -> dict[str, float]:
    values = {f"장소{i:05d}": [f"장소{i:05d}시", f"place{i:05d}"] for i in range(10_000)}
    state = {"dictionaries": {"PLACE": {match_key(s): c for c, syns in values.items() for s in (c, *syns)}}}
    saved = json.dumps(state, ensure_ascii=False)
    started, cpu = time.perf_counter(), time.process_time()  # CPU time too: on a busy machine wall time waits
    part = DictionaryExtractor.load(DictionarySettings(typos=["PLACE"]), json.loads(saved), {}, None)  # type: ignore[arg-type]
    load_s, load_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    docs = Analyzer("ko").many([f"{t} 장소{i * 37 % 10_000:05d}에서" for i, t in enumerate(texts)])
    now = datetime.now().astimezone()
    times = []
    for doc in docs:
        started = time.perf_counter()
        part.extract(doc, now=now)
        times.append((time.perf_counter() - started) * 1000)
    return {"dictionary_values": 10_000, "dictionary_keys": len(state["dictionaries"]["PLACE"]),
            "dictionary_load_s": round(load_s, 3), "dictionary_load_cpu_s": round(load_cpu_s, 3),
            "dictionary_match_p50_ms": round(statistics.median(times), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--texts", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    texts = [row["question"] for f in sorted(DATA.glob("*.csv"))
             for row in csv.DictReader(f.read_text("utf-8").splitlines())][::97][: args.texts]
    model = malmoi.load(args.model_dir)
    if model.extractors:
        sys.exit(f"{args.model_dir} already has extractors: give a model trained without values")
    system = SystemValues(SystemValuesSettings(kinds=list(SYSTEM_KINDS)), {"DATE": "sys.time"})
    variants = {"without": dict(model.parts), "all_system_entities": {**model.parts, "extractor-system-values": system}}
    figures = p50_ms(model, texts, variants)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    print(json.dumps({"texts": len(texts), **figures,
                      "added_ms": round(figures["p50_ms_all_system_entities"] - figures["p50_ms_without"], 4),
                      "added_cpu_ms": round(figures["p50_cpu_ms_all_system_entities"]
                                            - figures["p50_cpu_ms_without"], 4),
                      **dictionary_figures(texts), "load_average": load}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
