"""Duckling's own Korean test corpora (../shared/data/duckling-ko): malmoi must resolve 95 %.

bench/system_entities.py runs the same cases with embedded Duckling beside, and lists each miss
with the reason where Duckling's value is arguably wrong for Korean.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from malmoi.entity.values import find_values
from malmoi.entity.values.duckling import CORPUS_FILES, CORPUS_NOW, read_corpus

CORPORA = Path(__file__).parents[2].parent / "shared" / "data" / "duckling-ko"

pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"Duckling's corpora are not at {CORPORA}")


def test_the_corpora_are_read_whole() -> None:
    cases = {name: read_corpus(CORPORA / f"{name}.Corpus.hs") for name in CORPUS_FILES}
    # Every `"text"` of every `examples` list, less the commented-out ones.
    assert {name: len(found) for name, found in cases.items()} == {
        "Time": 219, "Numeral": 95, "AmountOfMoney": 49, "Duration": 5, "Ordinal": 5}
    first = cases["Time"][0]
    assert (first.text, first.expected, first.grain) == ("방금", "2013-02-12T04:30:00-02:00", "second")


def test_malmoi_resolves_95_percent_of_duckling_korean_cases() -> None:
    cases = [case for name in CORPUS_FILES for case in read_corpus(CORPORA / f"{name}.Corpus.hs")]
    misses = []
    for case in cases:
        values = find_values(case.text, [case.kind], now=CORPUS_NOW)
        best = max(values, key=lambda v: v.end - v.start, default=None)
        if best is None or (best.resolved, best.grain) != (case.expected, case.grain):
            misses.append(f"{case.kind} {case.text!r}: expected {case.expected}, got {best and best.resolved}")
    rate = 1 - len(misses) / len(cases)
    assert rate >= 0.95, f"{rate:.1%} of {len(cases)}; misses:\n" + "\n".join(misses)
