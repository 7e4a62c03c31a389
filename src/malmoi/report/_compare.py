"""What got better and what got worse between two reports: per intent, per entity type, per utterance.

Utterances are matched by their text and gold intent (the n-th copy of a duplicate with the
n-th copy), so two reports on the same test data compare utterance by utterance; on different
data only the shared utterances are compared, and the counts of the others are given.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from malmoi.evaluate import format_table
from malmoi.labels import FALLBACK

# Figures of the summary, with the direction in which they get better.
SUMMARY = (
    ("intent accuracy", ("intent_accuracy",), +1),
    ("in-domain accuracy", ("in_domain_accuracy",), +1),
    ("fallback recall (OOD caught)", ("fallback", "ood_recall"), +1),
    ("false-fallback rate", ("fallback", "false_fallback_rate"), -1),
    ("AUROC", ("fallback", "auroc"), +1),
    ("entity F1", ("entity", "f1"), +1),
)


def _get(figures: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else None


def _answer(record: dict[str, Any]) -> str:
    return FALLBACK if record["fallback"] else record["predicted_intent"]


def _right(record: dict[str, Any]) -> bool:
    if record["gold_intent"] is None:
        return bool(record["fallback"])
    return not record["fallback"] and record["predicted_intent"] == record["gold_intent"]


def _keyed(records: list[dict[str, Any]]) -> dict[tuple[str, str | None, int], dict[str, Any]]:
    seen: Counter[tuple[str, str | None]] = Counter()
    out = {}
    for record in records:
        key = (record["text"], record["gold_intent"])
        out[(key[0], key[1], seen[key])] = record
        seen[key] += 1
    return out


def _example(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {"text": a["text"], "gold": a["gold_intent"], "answer_a": _answer(a), "answer_b": _answer(b),
            "source": b.get("source") or a.get("source") or ""}


def _describe(report: dict[str, Any]) -> dict[str, Any]:
    return {"model": report.get("model", {}).get("name"), "model_path": report.get("model", {}).get("path"),
            "created": report.get("created"), "data_path": report.get("data", {}).get("path"),
            "data_sha256": report.get("data", {}).get("sha256")}


def compare(a: dict[str, Any], b: dict[str, Any], *, examples_per_intent: int = 3) -> dict[str, Any]:
    """The changes from report ``a`` (before) to report ``b`` (after), as JSON-ready data.

    ``intents`` and ``entity_types`` list every class whose F1 changed, worst change first;
    each intent carries the utterances of that gold intent that got ``fixed`` (wrong in ``a``,
    right in ``b``) or ``broken``. ``examples`` lists every fixed and broken utterance, and
    ``changed``: wrong in both, with another answer.
    """
    fa, fb = a["figures"], b["figures"]
    summary = []
    no_entities = all(report.get("data", {}).get("entities") == 0 for report in (a, b))
    for label, path, better in SUMMARY:
        if path[0] == "entity" and no_entities:
            continue  # F1 is 1.0 by convention when there is nothing to find; it says nothing here
        va, vb = _get(fa, path), _get(fb, path)
        change = None if va is None or vb is None else vb - va
        summary.append({"metric": label, "a": va, "b": vb, "change": change,
                        "verdict": _verdict(change, better)})

    records_a = _keyed([*a["records"], *a["ood_records"]])
    records_b = _keyed([*b["records"], *b["ood_records"]])
    shared = [k for k in records_a if k in records_b]
    fixed, broken, changed = [], [], []
    for key in shared:
        ra, rb = records_a[key], records_b[key]
        right_a, right_b = _right(ra), _right(rb)
        if right_a and not right_b:
            broken.append(_example(ra, rb))
        elif right_b and not right_a:
            fixed.append(_example(ra, rb))
        elif not right_a and _answer(ra) != _answer(rb):
            changed.append(_example(ra, rb))
    entity_fixed = sum(1 for k in shared if _entities_right(records_b[k]) and not _entities_right(records_a[k]))
    entity_broken = sum(1 for k in shared if _entities_right(records_a[k]) and not _entities_right(records_b[k]))

    intents = []
    pa, pb = fa["per_intent"], fb["per_intent"]
    for name in sorted(pa.keys() | pb.keys()):
        f1_a, f1_b = pa.get(name, {}).get("f1"), pb.get(name, {}).get("f1")
        got_fixed = [e for e in fixed if e["gold"] == name]
        got_broken = [e for e in broken if e["gold"] == name]
        if f1_a == f1_b and not got_fixed and not got_broken:
            continue
        intents.append({
            "intent": name, "f1_a": f1_a, "f1_b": f1_b,
            "change": None if f1_a is None or f1_b is None else f1_b - f1_a,
            "support": (pb.get(name) or pa.get(name) or {}).get("support"),
            "fixed": len(got_fixed), "broken": len(got_broken),
            "examples": {"fixed": got_fixed[:examples_per_intent], "broken": got_broken[:examples_per_intent]},
        })
    intents.sort(key=lambda r: (r["change"] if r["change"] is not None else 0.0, r["intent"]))

    entity_types = []
    ea, eb = fa["entity"]["per_type"], fb["entity"]["per_type"]
    for name in sorted(ea.keys() | eb.keys()):
        f1_a, f1_b = ea.get(name, {}).get("f1"), eb.get(name, {}).get("f1")
        if f1_a == f1_b:
            continue
        entity_types.append({"type": name, "f1_a": f1_a, "f1_b": f1_b,
                             "change": None if f1_a is None or f1_b is None else f1_b - f1_a,
                             "support": (eb.get(name) or ea.get(name) or {}).get("support")})
    entity_types.sort(key=lambda r: (r["change"] if r["change"] is not None else 0.0, r["type"]))

    return {
        "a": _describe(a), "b": _describe(b),
        "shared_utterances": len(shared),
        "only_in_a": len(records_a) - len(shared),
        "only_in_b": len(records_b) - len(shared),
        "summary": summary,
        "intents": intents,
        "entity_types": entity_types,
        "examples": {"fixed": fixed, "broken": broken, "changed": changed,
                     "entities_fixed": entity_fixed, "entities_broken": entity_broken},
    }


def _entities_right(record: dict[str, Any]) -> bool:
    gold = {tuple(s) for s in record.get("gold_spans", [])}
    return gold == {tuple(s) for s in record.get("predicted_spans", [])}


def _verdict(change: float | None, better: int) -> str:
    if change is None or abs(change) < 1e-12:
        return ""
    return "better" if change * better > 0 else "worse"


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.4f}"


def format_comparison(result: dict[str, Any], *, examples: int = 10) -> str:
    """The comparison as text for a terminal: summary, intents that moved, entity types, utterances."""
    a, b = result["a"], result["b"]
    lines = [f"A: {a['model']} ({a['model_path'] or '?'}), report of {a['created']}",
             f"B: {b['model']} ({b['model_path'] or '?'}), report of {b['created']}"]
    if a["data_sha256"] != b["data_sha256"] or result["only_in_a"] or result["only_in_b"]:
        lines.append(f"The test data differ: {result['shared_utterances']} utterances in both, "
                     f"{result['only_in_a']} only in A, {result['only_in_b']} only in B; utterances are compared "
                     "where they are shared.")
    lines += ["", format_table([{**row, "change": _signed(row["change"])} for row in result["summary"]],
                               ["metric", "a", "b", "change", "verdict"])]
    moved = result["intents"]
    lines += ["", f"Intents whose F1 moved ({len(moved)}; worst first):"]
    if moved:
        lines.append(format_table(
            [{"intent": r["intent"], "F1 A": r["f1_a"], "F1 B": r["f1_b"], "change": _signed(r["change"]),
              "support": r["support"], "fixed": r["fixed"], "broken": r["broken"]} for r in moved],
            ["intent", "F1 A", "F1 B", "change", "support", "fixed", "broken"]))
        for r in moved[:examples]:
            for kind in ("broken", "fixed"):
                for e in r["examples"][kind]:
                    lines.append(f"  {r['intent']}: {kind}: {e['text']!r}  A: {e['answer_a']}  B: {e['answer_b']}")
    else:
        lines.append("  none")
    if result["entity_types"]:
        lines += ["", "Entity types whose F1 moved (worst first):", format_table(
            [{"type": r["type"], "F1 A": r["f1_a"], "F1 B": r["f1_b"], "change": _signed(r["change"]),
              "support": r["support"]} for r in result["entity_types"]],
            ["type", "F1 A", "F1 B", "change", "support"])]
    found = result["examples"]
    lines += ["", f"Utterances: {len(found['fixed'])} fixed, {len(found['broken'])} broken, "
                  f"{len(found['changed'])} wrong in both with another answer; entities: "
                  f"{found['entities_fixed']} utterances fixed, {found['entities_broken']} broken."]
    for kind in ("broken", "fixed"):
        shown = found[kind][:examples]
        if shown:
            more = f" (first {len(shown)} of {len(found[kind])})" if len(found[kind]) > len(shown) else ""
            lines.append(f"{kind.capitalize()}{more}:")
            lines += [f"  {e['text']!r}  gold: {e['gold'] or '(out of domain)'}  A: {e['answer_a']}  B: {e['answer_b']}"
                      for e in shown]
    return "\n".join(lines)
