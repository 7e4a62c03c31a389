"""One self-contained HTML file: the report data, its plots and plotly.js, all inline.

Nothing is fetched when the file opens: plotly.js is embedded (no CDN), styles and scripts are
inline, and a Content-Security-Policy forbids any connection, so the report opens offline and
leaks nothing about the data to a network.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from malmoi.outputs import GENERATOR
from malmoi.report import _figures, _held_out, _suspects
from malmoi.report._data import DATA_ISLAND_ID, island_json

# Rows of the misclassified-utterance table: the first ones in data order; the data island keeps all.
MAX_ERROR_ROWS = 1000
# No network at all: scripts and styles inline, images only from data: (plotly's heatmap is one).
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:")
ERROR_KINDS = ("wrong_type", "wrong_boundary", "wrong_type_and_boundary", "missed", "spurious")

STYLE = """
body{font-family:system-ui,"Noto Sans CJK KR","Noto Sans KR",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:16px 28px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:6px 28px;z-index:10;font-size:14px}
nav a{margin-right:14px;color:#1f3a5f;text-decoration:none}
main{padding:8px 28px 40px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:18px 0;padding:12px 18px}
h2{font-size:18px;margin:6px 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px;background:#fcfcfc}
.card .v{font-size:22px;font-weight:600}
.card .k{font-size:12px;color:#666}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8;position:sticky;top:0}
table.sortable th{cursor:pointer}
table.sortable th:after{content:" ⇅";color:#aaa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{max-height:520px;overflow:auto}
.bad{color:#b00020}
.muted{color:#777}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:360px;font-size:12px}
mark.gold{background:#cfe8ff}
mark.pred{background:#ffe0b3}
details{margin:4px 0}
summary{cursor:pointer}
#cell-examples{margin-top:8px}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("%(island)s").textContent);
  var figures = JSON.parse(document.getElementById("malmoi-report-figures").textContent);
  var config = {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"]};
  // Milliseconds each plot took to draw, for the benchmark that times how fast a report opens.
  var timings = {start: performance.now()};
  window.malmoiReport = {data: data, timings: timings};
  // One plot per task, so the summary and tables show at once and each plot as soon as it is drawn.
  var queue = Object.keys(figures);
  function drawNext() {
    var id = queue.shift();
    if (id === undefined) { whenDrawn(); return; }
    var element = document.getElementById(id);
    var started = performance.now();
    if (element) { Plotly.newPlot(element, figures[id].data, figures[id].layout, config); }
    timings[id] = performance.now() - started;
    setTimeout(drawNext, 0);
  }
  setTimeout(drawNext, 0);

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function gold(r) { return r.gold_intent === null ? "%(ood_row)s" : r.gold_intent; }
  function answer(r) { return r.fallback ? "fallback" : r.predicted_intent; }
  var all = data.records.concat(data.ood_records);
  function whenDrawn() {
    var confusion = document.getElementById("confusion");
    if (confusion && confusion.on) { confusion.on("plotly_click", showCell); }
    timings.drawn = performance.now();
    document.body.setAttribute("data-ready", "true");
  }
  function showCell(event) {
    var point = event.points[0];
    var found = all.filter(function (r) { return gold(r) === point.y && answer(r) === point.x; });
    var shown = found.slice(0, 100);
    var rows = shown.map(function (r) {
      var candidates = r.candidates.map(function (c) { return esc(c[0]) + " " + c[1].toFixed(3); }).join(", ");
      return "<tr><td>" + esc(r.text) + "</td><td>" + candidates + "</td><td class=n>" +
        r.in_domain_score.toFixed(3) + "</td></tr>";
    }).join("");
    document.getElementById("cell-examples").innerHTML =
      "<h3>gold " + esc(point.y) + " → answer " + esc(point.x) + ": " + found.length + " utterance(s)" +
      (found.length > shown.length ? ", the first " + shown.length + " shown" : "") + "</h3>" +
      "<table><tr><th>utterance</th><th>top-3 candidates</th><th>in-domain score</th></tr>" + rows + "</table>";
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th").forEach(function (th, column) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var descending = th.getAttribute("data-order") !== "desc";
        table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("data-order"); });
        th.setAttribute("data-order", descending ? "desc" : "asc");
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-v") || a.cells[column].textContent;
          var y = b.cells[column].getAttribute("data-v") || b.cells[column].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""


# plotly.js's official cartesian bundle (vendor/README.md): every trace type the report draws,
# a third of the full bundle's size, and no map code.
CARTESIAN_BUNDLE = Path(__file__).parent / "vendor" / "plotly-cartesian.min.js"
_VERSION_RE = re.compile(r"plotly\.js (?:\([a-z -]+\) )?v(\d+\.\d+\.\d+)")


def _bundle_version(script: str) -> str | None:
    """The plotly.js version in a bundle's banner comment: ``* plotly.js v4.1.1``."""
    found = _VERSION_RE.search(script[:300])
    return found.group(1) if found else None


def _plotly_js() -> str:
    """The cartesian bundle when it is the plotly.js version that plotly.py writes figures for,
    else plotly.py's own full bundle."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ImportError("the HTML report needs plotly: pip install 'malmoi[report]'") from None
    full = str(get_plotlyjs())
    if CARTESIAN_BUNDLE.is_file():
        cartesian = CARTESIAN_BUNDLE.read_text("utf-8")
        if _bundle_version(cartesian) is not None and _bundle_version(cartesian) == _bundle_version(full):
            return cartesian
    return full


def _script_safe(text: str) -> str:
    """Text that cannot end the ``<script>`` element it is put in."""
    return text.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def render(data: dict[str, Any]) -> str:
    """The whole HTML document of a report."""
    figures = _figures.all_figures(data)
    figures_json = "{" + ",".join(
        f"{json.dumps(name)}:{figure.to_json(engine='json')}" for name, figure in figures.items()
    ) + "}"
    figures_json = figures_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    model = data["model"]
    title = f"malmoi report · {model['name']}"
    sections = [
        _held_out.training_note(data),
        _summary(data),
        _model_card(data),
        _per_intent(data),
        _plot_section("confusion", "Confusion matrix", figures, extra='<div id="cell-examples" class="scroll"></div>'),
        _fallback(figures, data),
        _plot_section("projection", "Sentence vectors", figures,
                      note="Each dot is an utterance of the test data; black diamonds are the class centres "
                      "the model compares with. Hover for the utterance; drag to zoom."),
        _entities(data),
        _plot_section("training-curves", "Training curves", figures,
                      note="Recorded by <code>malmoi train</code> on its validation split."),
        _misclassified(data),
    ]
    nav = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in (
        ("summary", "Summary"), ("model", "Model"), ("intents", "Intents"), ("confusion-section", "Confusion"),
        ("fallback", "Fallback"), ("projection-section", "Vectors"), ("entities", "Entities"),
        ("training-curves-section", "Training"), ("errors", "Errors")))
    sections.append(_suspects.section(data))  # only with `malmoi test --suspects`
    nav += _suspects.nav_link(data)
    # when the test data's bot has conversation tests; with `--cross-validate`
    sections += [_held_out.section(data), _held_out.cross_validation_section(data)]
    nav += _held_out.nav_links(data)
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta name="generator" content="{GENERATOR}">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>",
        f"<script>{_script_safe(_plotly_js())}</script></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p>test data {html.escape(str(data['data'].get('path') or ''))}"
        f" · written {html.escape(data['created'])} by malmoi {html.escape(model['versions']['report_malmoi'])}</p>"
        "</header>",
        f"<nav>{nav}</nav><main>", *sections, "</main>",
        f'<script type="application/json" id="{DATA_ISLAND_ID}">{island_json(data)}</script>',
        f'<script type="application/json" id="malmoi-report-figures">{figures_json}</script>',
        f"<script>{SCRIPT % {'island': DATA_ISLAND_ID, 'ood_row': _figures.OUT_OF_DOMAIN_ROW}}</script>",
        "</body></html>\n",
    ])


def write_report(path: str | Path, data: dict[str, Any]) -> Path:
    """Write the report file; returns its path."""
    path = Path(path)
    path.write_text(render(data), encoding="utf-8")
    return path


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _pct(value: Any) -> str:
    return "–" if not isinstance(value, (int, float)) else f"{100 * value:.2f} %"


def _card(label: str, value: str) -> str:
    return f'<div class="card"><div class="v">{value}</div><div class="k">{html.escape(label)}</div></div>'


def _summary(data: dict[str, Any]) -> str:
    figures, snapshot = data["figures"], data["data"]
    fallback, entity = figures["fallback"], figures["entity"]
    cards = [
        _card("intent accuracy (top intent)", _pct(figures["intent_accuracy"])),
        _card("in-domain accuracy (right intent, no fallback)", _pct(figures["in_domain_accuracy"])),
        _card("fallback recall (out-of-domain caught)", _pct(fallback.get("ood_recall"))),
        _card("false-fallback rate", _pct(fallback.get("false_fallback_rate"))),
        _card("AUROC in-domain vs out-of-domain", _fmt(fallback.get("auroc"))),
        _card("entity F1 (exact spans, micro)", _pct(entity["f1"]) if snapshot["entities"] else "–"),
    ]
    stats = [
        _card("test utterances (in domain)", f"{snapshot['utterances']:,}"),
        _card("out-of-domain utterances", f"{snapshot['out_of_domain']:,}"),
        _card("intents", f"{snapshot['intents']:,}"),
        _card("entities (types)", f"{snapshot['entities']:,} ({len(snapshot['entity_types'])})"),
        _card("fallback threshold", _fmt(figures["threshold"])),
    ]
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">{"".join(cards)}</div>'
            f'<h2 style="margin-top:14px">Test data</h2><div class="cards">{"".join(stats)}</div></section>')


def _model_card(data: dict[str, Any]) -> str:
    model, snapshot = data["model"], data["data"]
    training = model["training"]
    refit = ", then refit on all data" if training.get("refit") else ""
    rows = [
        ("bot", model["name"]), ("model folder", model["path"]), ("language", model["language"]),
        ("intents / entity types", f"{len(model['intents'])} / {len(model['entity_types'])}"),
        ("encoder", f"{model['encoder'].get('type')} {model['encoder'].get('name') or ''} "
                    f"(sha256 {str(model['encoder'].get('sha256') or '')[:12]})"),
        ("trained with malmoi", model["versions"].get("trained_with_malmoi")),
        ("model format", model["versions"].get("model_format")),
        ("report by malmoi / Python", f"{model['versions']['report_malmoi']} / {model['versions']['python']}"),
        ("training time", f"{training.get('train_seconds', '–')} s, {training.get('epochs_run', '–')} epochs "
                          f"(kept epoch {training.get('best_epoch', '–')}{refit})"),
        ("training examples", json.dumps(training.get("examples", {}))),
        ("threshold", f"{model['threshold']:.4f} ({(training.get('calibration') or {}).get('method', '–')})"),
        ("test data", f"{snapshot.get('path') or '–'}: {snapshot.get('files', '–')} files, sha256 "
                      f"{str(snapshot.get('sha256') or '–')[:16]}"),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    settings = html.escape(json.dumps(model["settings"], indent=2, ensure_ascii=False))
    validation = html.escape(json.dumps(training.get("validation", {}), indent=2))
    return (f'<section id="model"><h2>Model card</h2><table>{body}</table>'
            f"<details><summary>resolved settings (bot.yaml)</summary><pre>{settings}</pre></details>"
            f"<details><summary>validation figures at the kept epoch</summary><pre>{validation}</pre></details>"
            "</section>")


def _per_intent(data: dict[str, Any]) -> str:
    confused: dict[str, dict[str, int]] = {}
    for r in data["records"]:
        answer = _figures.answer_label(r)
        if answer != r["gold_intent"]:
            counts = confused.setdefault(r["gold_intent"], {})
            counts[answer] = counts.get(answer, 0) + 1
    rows = []
    for name, s in data["figures"]["per_intent"].items():
        worst = sorted(confused.get(name, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        mixed = ", ".join(f"{html.escape(k)} ({v})" for k, v in worst)
        rows.append(
            f"<tr><td>{html.escape(name)}</td>"
            + "".join(f'<td class="n" data-v="{s[k]}">{s[k]:.4f}</td>' for k in ("precision", "recall", "f1"))
            + f'<td class="n">{s["support"]}</td><td>{mixed}</td></tr>'
        )
    return ('<section id="intents"><h2>Per intent</h2><p class="muted">Top intent, ignoring fallback. Click a '
            'column to sort.</p><div class="scroll"><table class="sortable" id="intent-table"><thead><tr>'
            "<th>intent</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
            "<th>answered instead (count)</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div></section>")


def _plot_section(name: str, heading: str, figures: dict[str, Any], *, note: str = "", extra: str = "") -> str:
    if name not in figures:
        why = "no training history in the model" if name == "training-curves" else "no data for it"
        return f'<section id="{name}-section"><h2>{heading}</h2><p class="muted">Nothing to show: {why}.</p></section>'
    note_html = f'<p class="muted">{note}</p>' if note else ""
    return f'<section id="{name}-section"><h2>{heading}</h2>{note_html}<div id="{name}"></div>{extra}</section>'


def _fallback(figures: dict[str, Any], data: dict[str, Any]) -> str:
    roc = '<div id="roc"></div>' if "roc" in figures else (
        '<p class="muted">No ROC curve: the test data has no out-of-domain utterances (data/ood/).</p>')
    return ('<section id="fallback"><h2>Fallback</h2><div style="display:grid;grid-template-columns:'
            'repeat(auto-fit,minmax(480px,1fr));gap:10px"><div id="fallback-histogram"></div>'
            f"{roc}</div>{_tradeoff(data)}</section>")


def _tradeoff(data: dict[str, Any]) -> str:
    """The threshold trade-off on the test data, the model's own threshold marked."""
    rows = _figures.threshold_tradeoff(data)
    if not rows:
        return ""
    body = "".join(
        f'<tr{" class=chosen" if r["chosen"] else ""}><td class="n">{r["threshold"]:.4f}</td>'
        f'<td class="n">{_pct(r["in_scope_accuracy"])}</td><td class="n">{_pct(r["ood_recall"])}</td>'
        f'<td class="n">{r["false_fallbacks"]:,} ({_pct(r["false_fallback_rate"])})</td>'
        f'<td>{"◀ the model&#39;s threshold" if r["chosen"] else ""}</td></tr>'
        for r in rows
    )
    return ('<h3>Threshold trade-off</h3><p class="muted">What other thresholds would give on this test data: '
            "a higher threshold catches more out-of-domain utterances and refuses more real requests. Set "
            "<code>intent: {threshold: false_fallback_rate, false_fallback_rate: 0.02}</code> or "
            "<code>{threshold: ood_recall, target_ood_recall: 0.9}</code> in bot.yaml to choose by either.</p>"
            '<table id="threshold-tradeoff"><thead><tr><th>threshold</th><th>in-scope accuracy</th>'
            "<th>out-of-domain recall</th><th>false fallbacks</th><th></th></tr></thead><tbody>"
            f"{body}</tbody></table>")


def _marked(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    """The utterance with gold and predicted spans marked (spans may overlap: gold first)."""
    out, at = [], 0
    for start, end, type_, css in sorted(spans):
        if start < at:
            continue
        out.append(html.escape(text[at:start]))
        out.append(f'<mark class="{css}" title="{html.escape(type_)}">{html.escape(text[start:end])}</mark>')
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


def _span_text(text: str, span: list[Any] | None) -> str:
    if not span:
        return "–"
    return f"{html.escape(text[span[0]:span[1]])} <span class=muted>{html.escape(str(span[2]))}</span>"


def _entities(data: dict[str, Any]) -> str:
    entity = data["figures"]["entity"]
    if not entity["per_type"]:
        return '<section id="entities"><h2>Entities</h2><p class="muted">The test data has no entities.</p></section>'
    by_type = entity["confusion"]["by_type"]
    header = "".join(f"<th>{k.replace('_', ' ')}</th>" for k in ERROR_KINDS)
    rows = []
    for name, s in entity["per_type"].items():
        errors = by_type.get(name, {})
        rows.append(
            f"<tr><td>{html.escape(name)}</td>"
            + "".join(f'<td class="n" data-v="{s[k]}">{s[k]:.4f}</td>' for k in ("precision", "recall", "f1"))
            + f'<td class="n">{s["support"]}</td>'
            + "".join(f'<td class="n">{errors.get(k, 0)}</td>' for k in ERROR_KINDS) + "</tr>"
        )
    lists = []
    records = data["records"]
    for kind in ERROR_KINDS:
        items = [e for e in data["entity_errors"] if e["kind"] == kind]
        if not items:
            continue
        lines = []
        for e in items:
            text = records[e["record"]]["text"]
            spans = [(*e["gold"][:3], "gold")] if e["gold"] else []
            spans += [(*e["predicted"][:3], "pred")] if e["predicted"] else []
            lines.append(f"<tr><td>{html.escape(e['type'])}</td><td>{_marked(text, spans)}</td>"
                         f"<td>{_span_text(text, e['gold'])}</td><td>{_span_text(text, e['predicted'])}</td></tr>")
        total = entity["confusion"].get(kind, len(items))
        lists.append(f"<details><summary>{kind.replace('_', ' ')}: {total}"
                     f"{' (the first per type shown)' if total > len(items) else ''}</summary><table><tr><th>type</th>"
                     f"<th>utterance (<mark class=gold>gold</mark>, <mark class=pred>predicted</mark>)</th>"
                     f"<th>gold</th><th>predicted</th></tr>{''.join(lines)}</table></details>")
    return ('<section id="entities"><h2>Entities</h2><p class="muted">Exact spans. A gold entity that is not '
            "found exactly counts once, as its nearest prediction makes it: wrong type, wrong boundary, both, or "
            "missed; a prediction overlapping nothing is spurious.</p>"
            '<table class="sortable" id="entity-table"><thead><tr><th>type</th><th>precision</th><th>recall</th>'
            f"<th>F1</th><th>support</th>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + "".join(lists) + "</section>")


def _misclassified(data: dict[str, Any]) -> str:
    wrong = [r for r in data["records"] if r["fallback"] or r["predicted_intent"] != r["gold_intent"]]
    wrong += [r for r in data["ood_records"] if not r["fallback"]]
    rows = []
    for r in wrong[:MAX_ERROR_ROWS]:
        candidates = ", ".join(f"{html.escape(name)} {conf:.3f}" for name, conf in r["candidates"])
        rows.append(
            f"<tr><td>{html.escape(r['text'])}</td><td>{html.escape(_figures.gold_label(r))}</td>"
            f'<td class="bad">{html.escape(_figures.answer_label(r))}</td><td>{candidates}</td>'
            f'<td class="n">{r["in_domain_score"]:.3f}</td>'
            f'<td class="muted">{html.escape(r.get("source") or "")}</td></tr>'
        )
    shown = f"the first {MAX_ERROR_ROWS} of " if len(wrong) > MAX_ERROR_ROWS else ""
    return (f'<section id="errors"><h2>Misclassified utterances ({shown}{len(wrong)})</h2>'
            '<p class="muted">A wrong intent, a fallback on an in-domain utterance, or an out-of-domain utterance '
            'answered. Click a column to sort.</p><div class="scroll"><table class="sortable" id="error-table"><thead>'
            "<tr><th>utterance</th><th>gold</th><th>answer</th><th>top-3 candidates</th><th>in-domain score</th>"
            "<th>source</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div></section>")
