"""The contract every part of a model keeps (malmoi.parts), as one function the tests call for each
registered part type, and for a plug-in's.

A part writes its record (JSON state, settings) and its files (its arrays; an encoder's own
folder), and the same type's ``load`` rebuilds it from them: the rebuilt part gives the same
outputs. A part that several bots can share is loaded once per process: loading it twice gives
the same object.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load

from malmoi.artifact import PartRecord
from malmoi.encode.runtime import EncoderRuntime
from malmoi.model.model import load_part, save_part
from malmoi.parts import Extractor, LoadContext, Part, shared
from malmoi.text import Analyzer

TEXTS = ["내일 서울 날씨 알려줘", "부산 국밥 맛집 추천해줘 2시에 4명", "weather in paris tomorrow", "", "!!!"]
NOW = datetime(2024, 5, 15, 10, 30, tzinfo=timezone(timedelta(hours=9)))


def probe(kind: str, part: Any) -> Any:
    """What a part of ``kind`` computes, on fixed inputs: equal for a part and its reloaded twin."""
    docs = Analyzer("ko").many(TEXTS)
    rng = np.random.default_rng(0)
    if kind == "analyzers":
        return [[(t.text, t.start, t.end, t.pos, t.form) for t in doc.tokens] for doc in part.many(TEXTS)]
    if kind == "encoders":
        return [v.tolist() for v in part.vectors(docs)]
    if kind == "lexical":
        return [[a.tolist() for a in part.transform(doc)] for doc in docs]
    if kind == "intent_heads" and hasattr(part, "blended"):  # the linear floor: n-grams in, blended scores out
        from malmoi.intent.scoring import IntentScores

        features = [(np.sort(rng.choice(part.rows, min(5, part.rows), replace=False)), rng.random(min(5, part.rows)))
                    for _ in range(4)]
        logits = rng.normal(size=(4, part.num_intents))
        blended = part.blended(IntentScores(logits, logits.argmax(1), logits.max(1), logits), features)
        return [part.scores(features).tolist(), blended.probabilities.tolist(), blended.in_domain.tolist()]
    if kind == "intent_heads":
        width = part.project_weight.shape[1] // 2
        sentences = np.stack([part.sentence(rng.normal(size=(3, width)).astype(np.float32), None) for _ in range(4)])
        scores = part.scores(sentences)
        return [scores.probabilities.tolist(), scores.predicted.tolist(), scores.in_domain.tolist()]
    if kind == "fallbacks":
        return [part.threshold, [part.falls_back(x, True) for x in np.linspace(-1, 1, 41)], part.falls_back(1.0, False)]
    if kind == "taggers":
        width = part.weight.shape[1]
        sentence = rng.normal(size=part.sentence_tags.shape[1] if part.sentence_tags is not None else 1)
        return [part.decode(part.emissions(rng.normal(size=(n, width)).astype(np.float32), sentence)) for n in (1, 4)]
    if kind == "extractors":
        return [[(f.type, f.start, f.end, repr(f.resolved), f.grain) for f in part.extract(doc, now=NOW)]
                for doc in docs]
    raise AssertionError(f"no probe for the kind {kind!r}: add one to tests/parts_contract.py")


def _same(a: Any, b: Any) -> bool:
    """Equal, floats within float32 noise (a vector computed in another batch may differ in its last bits)."""
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-5, atol=1e-6))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def check_part_contract(kind: str, type_: str, part: Part, settings: Any, folder: Path, *,
                        bundled: bool = True) -> Part:
    """Save ``part`` as a model saves it, load it as a model loads it, and compare; returns the reloaded part."""
    assert isinstance(part, Part), f"{type_} is a {type(part).__name__}, not a malmoi.parts.Part"
    name = "encoder" if kind == "encoders" else f"{kind}-{type_}".replace(".", "-")
    dumped = settings.model_dump(mode="json") if hasattr(settings, "model_dump") else dict(settings or {})
    record, files = save_part(name, kind, type_, part, dumped, bundled=bundled)
    # What model.json keeps of it: JSON, read back.
    record = PartRecord.model_validate(json.loads(json.dumps(record.model_dump(mode="json"))))
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    arrays = {key: np.array(value) for key, value in load(files[record.weights.file]).items()} if record.weights else {}
    assert sorted(arrays) == sorted(part.arrays()), "the saved arrays are not the part's arrays"
    with _fresh_process_parts():  # a process that holds no copy yet: the part is really read back
        reloaded = load_part(LoadContext(folder, name), record, arrays)
        twin = load_part(LoadContext(folder, name), record, arrays)
    assert type(reloaded) is type(part) and reloaded is not part
    assert _same(probe(kind, reloaded), probe(kind, part)), f"{type_} answers differently once saved and loaded"
    if isinstance(part, EncoderRuntime):
        assert reloaded.sha256 == part.sha256
        assert twin is reloaded, f"{type_}: two models on one encoder must share one copy of it"
    if isinstance(part, Extractor):
        assert reloaded.entity_types() == part.entity_types()
    return reloaded


@contextmanager
def _fresh_process_parts() -> Iterator[None]:
    saved = shared._parts
    shared._parts = weakref.WeakValueDictionary()
    try:
        yield
    finally:
        shared._parts = saved
