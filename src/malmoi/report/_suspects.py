"""The "Label suspects" section of a report: what ``malmoi clean`` found in the training data.

``malmoi test MODEL DATA --report r.html --suspects BOT/clean/suspects.json`` adds it. The
suspects travel in the report's data island (``label_suspects``), so the page stays one offline
file; a report without them shows no such section.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from malmoi.report._data import ReportError

__all__ = ["MAX_SUSPECT_ROWS", "nav_link", "read_suspects", "section"]

MAX_SUSPECT_ROWS = 500  # the rest are in suspects.csv; a report stays small
_FIELDS = ("rank", "text", "given", "suggested", "p_wrong")


def read_suspects(path: str | Path) -> dict[str, Any]:
    """The ``suspects.json`` of ``malmoi clean`` as report data; :class:`ReportError` naming the
    file and what was wrong when it is not one."""
    path = Path(path)
    hint = "expected the suspects.json that `malmoi clean BOT_DIR` writes (BOT_DIR/clean/suspects.json)"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file; {hint}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot read it as JSON ({exc}); {hint}") from None
    suspects = document.get("suspects") if isinstance(document, dict) else None
    if not isinstance(suspects, list) or not all(isinstance(s, dict) for s in suspects):
        raise ReportError(f"{path}: no list of suspects in it; {hint}")
    for number, s in enumerate(suspects, 1):
        missing = [f for f in _FIELDS if f not in s]
        if missing:
            raise ReportError(f"{path}: suspect {number} has no {', '.join(missing)}; {hint}")
    summary = document.get("summary") if isinstance(document.get("summary"), dict) else {}
    return {"path": str(path), "summary": summary, "total": len(suspects), "suspects": suspects[:MAX_SUSPECT_ROWS]}


def nav_link(data: dict[str, Any]) -> str:
    return '<a href="#label-suspects">Suspects</a>' if data.get("label_suspects") else ""


def section(data: dict[str, Any]) -> str:
    """The section's HTML ("" when the report has no suspects)."""
    found = data.get("label_suspects")
    if not found:
        return ""
    tested = {r["text"] for r in data.get("records", [])}
    summary = found.get("summary", {})
    rows = []
    for s in found["suspects"]:
        near = "<br>".join(
            f"{html.escape(str(n.get('text', '')))} <span class=\"muted\">({html.escape(str(n.get('intent', '')))}, "
            f"{float(n.get('similarity', 0)):.2f})</span>"
            for n in s.get("neighbours", []) if isinstance(n, dict)
        )
        rows.append(
            f'<tr><td class="n">{int(s["rank"])}</td><td class="n">{float(s["p_wrong"]):.3f}</td>'
            f"<td>{html.escape(str(s['text']))}</td><td>{html.escape(str(s['given']))}</td>"
            f"<td>{html.escape(str(s['suggested']))}</td><td class=\"n\">{s.get('times_checked', '')}</td>"
            f"<td>{'yes' if s.get('conflict') else ''}</td><td>{'yes' if s['text'] in tested else ''}</td>"
            f"<td>{near}</td><td class=\"muted\">{html.escape(str(s.get('source', '')))}</td></tr>"
        )
    shown = f"the first {len(rows)} of " if found["total"] > len(rows) else ""
    checked = summary.get("examples")
    intro = (f"{found['total']} utterance(s) of the training data whose intent is probably wrong"
             + (f", of {checked} checked" if checked else "")
             + f", from <code>{html.escape(found['path'])}</code> (<code>malmoi clean</code>). Most doubtful first; "
             "<em>in test data</em>: the same text is in this report's test data, so its score here may be wrong too. "
             "Review them, then <code>malmoi clean BOT_DIR --apply</code> moves them (with a backup and a diff).")
    return (f'<section id="label-suspects"><h2>Label suspects ({shown}{found["total"]})</h2>'
            f'<p class="muted">{intro}</p><div class="scroll"><table class="sortable" id="suspect-table"><thead><tr>'
            "<th>rank</th><th>P(wrong)</th><th>utterance</th><th>given</th><th>suggested</th><th>checked</th>"
            "<th>conflict</th><th>in test data</th><th>nearest neighbours</th><th>source</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></section>")
