"""The data of a report: figures, per-utterance records, model card, projection — all JSON.

The HTML report draws everything from this one document, and keeps it in the page as a JSON
data island (``<script type="application/json" id="malmoi-report-data">``), so ``malmoi
compare`` reads two reports without the models or the data that made them.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np

from malmoi._version import __version__
from malmoi.entity.metrics import span_errors
from malmoi.evaluate import Evaluation
from malmoi.outputs import REPORT_DATA_ID

FORMAT, FORMAT_VERSION = "malmoi-report", 1
DATA_ISLAND_ID = REPORT_DATA_ID
# Sentences listed per entity type and kind of error: enough to see a pattern, bounded in size.
ENTITY_ERROR_EXAMPLES = 30


class ReportError(ValueError):
    """A file that is not a malmoi report (or one this version cannot read)."""


def report_data(
    evaluation: Evaluation,
    model: Any,
    *,
    model_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": model_card(model, model_dir),
        "data": data_snapshot(evaluation, data_dir),
        "figures": evaluation.to_dict(),
        "records": [_compact(r.to_dict(), data_dir) for r in evaluation.records],
        "ood_records": [_compact(r.to_dict(), data_dir) for r in evaluation.ood_records],
        "entity_errors": entity_errors(evaluation),
        "projection": projection(evaluation, model),
    }


def _compact(record: dict[str, Any], data_dir: str | Path | None) -> dict[str, Any]:
    # Four decimals say all a reader can see and keep a 150-intent report small; sources relative
    # to the data folder are shorter, and equal for two copies of one data set.
    record["candidates"] = [[name, round(conf, 4)] for name, conf in record["candidates"]]
    record["in_domain_score"] = round(record["in_domain_score"], 4)
    if data_dir is not None and record["source"].startswith(str(data_dir)):
        record["source"] = record["source"][len(str(data_dir)) :].lstrip("/\\")
    return record


def model_card(model: Any, model_dir: str | Path | None) -> dict[str, Any]:
    """Settings, versions, labels and how training went."""
    saved: dict[str, Any] = {}
    if model_dir is not None and (Path(model_dir) / "model.json").is_file():
        try:
            saved = json.loads((Path(model_dir) / "model.json").read_text("utf-8"))
        except (OSError, ValueError):
            saved = {}
    encoder = getattr(model, "encoder", None)
    training = dict(model.report)
    return {
        "name": model.config.name,
        "path": str(model_dir) if model_dir is not None else None,
        "language": model.config.language,
        "intents": list(model.intents),
        "entity_types": sorted({t.split("-", 1)[1] for t in model.tags if "-" in t}),
        "threshold": float(model.threshold),
        "settings": model.config.settings.model_dump(mode="json"),
        "encoder": {"name": getattr(encoder, "name", None), "type": getattr(encoder, "type", None),
                    "sha256": getattr(encoder, "sha256", None)},
        "versions": {
            "trained_with_malmoi": saved.get("malmoi_version"),
            "model_format": saved.get("format_version"),
            "report_malmoi": __version__,
            "python": platform.python_version(),
        },
        "training": training,
    }


def data_snapshot(evaluation: Evaluation, data_dir: str | Path | None) -> dict[str, Any]:
    """What the test data was: counts, and a hash of its files, to tell two data sets apart."""
    records = evaluation.records
    per_intent: dict[str, int] = {}
    for r in records:
        per_intent[r.gold_intent or ""] = per_intent.get(r.gold_intent or "", 0) + 1
    snapshot: dict[str, Any] = {
        "path": str(data_dir) if data_dir is not None else None,
        "utterances": len(records),
        "out_of_domain": len(evaluation.ood_records),
        "intents": len(per_intent),
        "entity_types": sorted({s[2] for r in records for s in r.gold_spans}),
        "entities": sum(len(r.gold_spans) for r in records),
        "per_intent": dict(sorted(per_intent.items())),
    }
    if data_dir is not None and Path(data_dir).is_dir():
        files = sorted(p for p in Path(data_dir).rglob("*") if p.is_file() and _is_data_file(Path(data_dir), p))
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(data_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
        snapshot.update(files=len(files), sha256=digest.hexdigest())
    return snapshot


def _is_data_file(root: Path, path: Path) -> bool:
    relative = path.relative_to(root)
    return relative.parts[0] == "data" or relative == Path("bot.yaml")


def entity_errors(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Entity errors with their utterance (an index into ``records``), at most a few per type and kind."""
    shown: dict[tuple[str, str], int] = {}
    out = []
    for index, record in enumerate(evaluation.records):
        for kind, gold, predicted in span_errors(record.gold_spans, record.predicted_spans):
            type_ = (gold or predicted or (0, 0, ""))[2]
            key = (type_, kind)
            shown[key] = shown.get(key, 0) + 1
            if shown[key] <= ENTITY_ERROR_EXAMPLES:
                out.append({"record": index, "kind": kind, "type": type_,
                            "gold": list(gold) if gold else None, "predicted": list(predicted) if predicted else None})
    return out


def projection(evaluation: Evaluation, model: Any) -> dict[str, Any] | None:
    """2-D coordinates of every sentence vector and of the class centres.

    Principal components of the class centres: the plane in which the intents differ most,
    so classes spread out instead of crowding the middle as a plain PCA of 150 classes does.
    For angular losses (cosine retrieval) vectors and centres are unit length first, as the
    model compares them.
    """
    vectors = evaluation.sentence_vectors
    scorer = getattr(model, "scorer", None)
    if vectors is None or scorer is None or len(vectors) == 0:
        return None
    centres = np.asarray(scorer.centres, dtype=np.float64)  # (intents, dim)
    points = np.asarray(vectors, dtype=np.float64)  # (utterances, dim)
    if points.shape[1] != centres.shape[1]:
        return None
    if scorer.metric == "cosine":
        centres = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
        points = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    basis_source = centres if len(centres) >= 3 else np.concatenate([centres, points])
    mean = basis_source.mean(0)
    _, singular, rows = np.linalg.svd(basis_source - mean, full_matrices=False)
    basis = rows[:2].T  # (dim, 2)
    if basis.shape[1] < 2:
        basis = np.concatenate([basis, np.zeros((basis.shape[0], 2 - basis.shape[1]))], axis=1)
    explained = (singular[:2] ** 2).sum() / max((singular**2).sum(), 1e-12)
    return {
        "method": "principal components of the class centres" + (", unit vectors" if scorer.metric == "cosine" else ""),
        "explained_centre_variance": round(float(explained), 4),
        "points": np.round((points - mean) @ basis, 4).tolist(),  # (utterances, 2): records, then ood_records
        "centres": np.round((centres - mean) @ basis, 4).tolist(),  # (intents, 2) in model.intents order
        "centre_intents": list(model.intents),
    }


_ISLAND = re.compile(
    r'<script type="application/json" id="' + DATA_ISLAND_ID + r'">(.*?)</script>', re.DOTALL
)


def island_json(data: dict[str, Any]) -> str:
    """The data as JSON that is safe inside a ``<script>`` element (no ``</script>`` can end it)."""
    text = json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_jsonable)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finite(value: Any) -> Any:
    """NaN and infinities as ``null``: JSON has no word for them (an AUROC without out-of-domain data)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def read_report(path: str | Path) -> dict[str, Any]:
    """The data of a report written by ``malmoi test --report`` (the HTML file, or its JSON)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file; give a report written by `malmoi test MODEL DATA --report "
                          f"{path.name}`") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not a UTF-8 text file; expected an HTML report of `malmoi test --report`") from None
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror}") from None
    if text.lstrip().startswith("{"):
        raw = text
    else:
        match = _ISLAND.search(text)
        if match is None:
            raise ReportError(f"{path}: no malmoi report data in it (a <script id=\"{DATA_ISLAND_ID}\"> element); "
                              "expected an HTML report written by `malmoi test MODEL DATA --report FILE`")
        raw = match.group(1)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: the report data is not valid JSON ({exc.msg} at character {exc.pos}); "
                          "the file was cut short or edited; write it again with `malmoi test --report`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReportError(f"{path}: not a malmoi report (expected \"format\": \"{FORMAT}\")")
    if data.get("format_version") != FORMAT_VERSION:
        raise ReportError(f"{path}: report format {data.get('format_version')!r}; this malmoi reads format "
                          f"{FORMAT_VERSION}. Write the report again with `malmoi test --report`")
    for key in ("figures", "records", "ood_records"):
        if key not in data:
            raise ReportError(f"{path}: the report data has no {key!r}; write it again with `malmoi test --report`")
    return data
