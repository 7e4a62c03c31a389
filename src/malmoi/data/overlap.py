"""Which utterances a model trained on, so that ``malmoi test`` can say when it is shown them again.

A model keeps, in its report, a 4-byte hash of each distinct training text (normalized), sorted and
base64-encoded: 5.3 bytes an utterance (CLINC150's 15,200: 81 kB), no text readable from it, and
a chance of about n / 2^32 that an unseen text looks seen (15,200 texts: 4 in a million).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from malmoi.data._reading import normalize_text

__all__ = ["HASH_BYTES", "REPORT_KEY", "training_overlap", "training_record"]

HASH_BYTES = 4
REPORT_KEY = "training_data"


def _hash(text: str) -> bytes:
    return hashlib.blake2b(normalize_text(text).encode("utf-8"), digest_size=HASH_BYTES).digest()


def training_record(texts: Iterable[str]) -> dict[str, Any]:
    """What a model's report keeps of its training texts: their number and their hashes."""
    hashes = sorted({_hash(t) for t in texts})
    return {"utterances": len(hashes), "hashes": base64.b64encode(b"".join(hashes)).decode("ascii")}


def training_overlap(report: Mapping[str, Any], texts: Iterable[str]) -> dict[str, Any] | None:
    """``{"utterances": n, "seen": k}``: how many of ``texts`` the model trained on (by hash), or
    None for a model that kept no record (trained before malmoi kept one)."""
    record = report.get(REPORT_KEY)
    if not isinstance(record, Mapping) or not isinstance(record.get("hashes"), str):
        return None
    try:
        raw = base64.b64decode(record["hashes"], validate=True)
    except ValueError:
        return None
    known = {raw[i : i + HASH_BYTES] for i in range(0, len(raw), HASH_BYTES)}
    texts = list(texts)
    return {"utterances": len(texts), "seen": sum(_hash(t) in known for t in texts)}
