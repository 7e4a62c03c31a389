"""The analytics page: statistics of the message log (:mod:`malmoi.dialogue.analytics`) as one
offline HTML file, plotly.js inline as in the test report (:mod:`malmoi.report._html`), and the
same Content-Security-Policy: nothing is fetched when it opens.

Written by ``malmoi stats --html FILE`` and served at ``/analytics``.
"""

from __future__ import annotations

import html
import json
from typing import Any

from malmoi.dialogue.analytics import LogStats
from malmoi.outputs import GENERATOR
from malmoi.report._html import CSP, _plotly_js, _script_safe

__all__ = ["render_analytics"]

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK KR","Noto Sans KR",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}
main{padding:12px 28px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}section{background:#fff;border:1px solid #ddd;border-radius:6px;
margin:14px 0;padding:8px 16px}table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;
padding:4px 10px;text-align:left}td.n{text-align:right}.plot{height:320px}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("malmoi-analytics-figures").textContent);
  var config = {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"]};
  Object.keys(figures).forEach(function (id) {
    var element = document.getElementById(id);
    if (element) { Plotly.newPlot(element, figures[id].data, figures[id].layout, config); }
  });
  window.malmoiAnalyticsDrawn = true;
})();
"""


def _figures(stats: LogStats) -> dict[str, Any]:
    import plotly.graph_objects as go

    layout = {"template": "plotly_white", "margin": {"l": 50, "r": 20, "t": 40, "b": 60}}
    days = [d.day for d in stats.days]
    figures = {
        "per-day": go.Figure([go.Bar(x=days, y=[d.messages for d in stats.days], name="messages"),
                              go.Scatter(x=days, y=[d.users for d in stats.days], name="users", mode="lines+markers")],
                             layout={**layout, "title": "Messages and users per day"}),
        "fallback": go.Figure([go.Scatter(x=days, y=[d.fallback_rate for d in stats.days], mode="lines+markers")],
                              layout={**layout, "title": "Fallback rate per day", "yaxis": {"tickformat": ".0%"}}),
        "intents": go.Figure([go.Bar(x=list(stats.intents), y=list(stats.intents.values()))],
                             layout={**layout, "title": "Messages per intent (in domain)"}),
        "slots": go.Figure([go.Bar(x=list(stats.slot_filling),
                                   y=[s["completion_rate"] for s in stats.slot_filling.values()])],
                           layout={**layout, "title": "Slot-filling completion per scenario",
                                   "yaxis": {"tickformat": ".0%", "range": [0, 1]}}),
    }
    return {name: json.loads(figure.to_json(engine="json")) for name, figure in figures.items()}


def render_analytics(stats: LogStats) -> str:
    """The whole HTML document."""
    figures = json.dumps(_figures(stats), ensure_ascii=False)
    figures = figures.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    esc = html.escape
    title = f"malmoi analytics · {stats.bot or 'all bots'}"
    cards = "".join(f'<div class="card">{esc(label)}<b>{esc(value)}</b></div>' for label, value in (
        ("messages", f"{stats.messages:,}"), ("users", f"{stats.users:,}"),
        ("fallback rate", f"{stats.fallback_rate:.1%}"), ("low confidence", f"{stats.low_confidence_rate:.1%}")))
    ood = "".join(f'<tr><td>{esc(row["text"])}</td><td class="n">{row["count"]}</td></tr>'
                  for row in stats.top_out_of_domain) or '<tr><td colspan="2">none</td></tr>'
    slots = "".join(f'<tr><td>{esc(name)}</td><td class="n">{s["started"]}</td><td class="n">{s["completed"]}</td>'
                    f'<td class="n">{s["completion_rate"]:.1%}</td></tr>' for name, s in stats.slot_filling.items())
    plots = "".join(f'<section><div id="{name}" class="plot"></div></section>'
                    for name in ("per-day", "fallback", "intents", "slots"))
    return "".join([
        '<!DOCTYPE html>\n<html lang="ko"><head><meta charset="utf-8">',
        f'<meta name="generator" content="{GENERATOR}">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style>",
        f"<script>{_script_safe(_plotly_js())}</script></head><body>",
        f"<header><h1>{esc(title)}</h1><p>since {esc(stats.since or 'the first message')}</p></header><main>",
        f'<div class="cards">{cards}</div>', plots,
        "<section><h2>Top out-of-domain messages</h2><table><tr><th>text</th><th>count</th></tr>"
        f"{ood}</table></section>",
        "<section><h2>Slot filling</h2><table><tr><th>scenario</th><th>started</th><th>completed</th>"
        f"<th>rate</th></tr>{slots}</table></section></main>",
        f'<script type="application/json" id="malmoi-analytics-figures">{figures}</script>',
        f"<script>{_SCRIPT}</script></body></html>\n",
    ])
