"""The report's plots, as plotly figures built from the report data (:mod:`malmoi.report._data`).

Utterances go into hover text escaped: plotly reads a subset of HTML in text (``<br>``,
``<a href>``), and a user's utterance is data, not markup.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from malmoi.labels import FALLBACK

OUT_OF_DOMAIN_ROW = "(out of domain)"
# The ROC curve is drawn from at most this many points: the shape, not a point per utterance.
ROC_POINTS = 400


def _go() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ImportError(
            "the HTML report needs plotly: pip install 'malmoi[report]' (or pip install plotly)"
        ) from None
    return go


def _layout(**extra: Any) -> dict[str, Any]:
    return {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}, **extra}


def gold_label(record: dict[str, Any]) -> str:
    return record["gold_intent"] if record["gold_intent"] is not None else OUT_OF_DOMAIN_ROW


def answer_label(record: dict[str, Any]) -> str:
    return FALLBACK if record["fallback"] else record["predicted_intent"]


def _hover(record: dict[str, Any]) -> str:
    text = html.escape(record["text"] if len(record["text"]) <= 120 else record["text"][:117] + "...")
    return f"{text}<br>gold: {html.escape(gold_label(record))}<br>answer: {html.escape(answer_label(record))}"


def confusion(data: dict[str, Any]) -> Any:
    """Gold intent (rows) against the answer (columns); colour on a log scale so that single errors show."""
    go = _go()
    records = [*data["records"], *data["ood_records"]]
    intents = sorted({r["gold_intent"] for r in data["records"]} | {r["predicted_intent"] for r in records})
    rows = intents + ([OUT_OF_DOMAIN_ROW] if data["ood_records"] else [])
    columns = intents + [FALLBACK]
    row_of, column_of = {n: i for i, n in enumerate(rows)}, {n: i for i, n in enumerate(columns)}
    counts = np.zeros((len(rows), len(columns)), dtype=np.int64)
    for r in records:
        counts[row_of[gold_label(r)], column_of[answer_label(r)]] += 1
    many = len(rows) > 40
    size = min(1600, max(420, 14 * len(rows) + 200))
    figure = go.Figure(go.Heatmap(
        z=np.round(np.log10(1 + counts), 3), x=columns, y=rows, customdata=counts,
        colorscale="Blues", xgap=1 if not many else 0, ygap=1 if not many else 0,
        hovertemplate="gold: %{y}<br>answer: %{x}<br>%{customdata} utterance(s)<extra></extra>",
        colorbar={"title": {"text": "utterances"}, "tickvals": [0, 1, 2, 3, 4],
                  "ticktext": ["0", "9", "99", "999", "9999"]},
    ))
    figure.update_layout(**_layout(
        title={"text": "Confusion matrix: gold intent (rows) × answer (columns). Click a cell for its utterances."},
        height=size,  # the page's width: a wider figure would hide its last columns
        xaxis={"title": {"text": "answer"}, "tickfont": {"size": 8 if many else 11}, "side": "bottom"},
        yaxis={"title": {"text": "gold intent"}, "autorange": "reversed", "tickfont": {"size": 8 if many else 11}},
    ))
    return figure


def fallback_histogram(data: dict[str, Any]) -> Any:
    go = _go()
    threshold = data["figures"]["threshold"]
    figure = go.Figure()
    figure.add_trace(go.Histogram(x=[r["in_domain_score"] for r in data["records"]], name="in-domain utterances",
                                  opacity=0.6, nbinsx=60, marker={"color": "#1f77b4"}))
    if data["ood_records"]:
        figure.add_trace(go.Histogram(x=[r["in_domain_score"] for r in data["ood_records"]],
                                      name="out-of-domain utterances", opacity=0.6, nbinsx=60,
                                      marker={"color": "#d62728"}))
    figure.add_vline(x=threshold, line={"dash": "dash", "color": "black"},
                     annotation={"text": f"threshold {threshold:.3f}", "showarrow": False, "yshift": 10})
    figure.update_layout(**_layout(
        title={"text": "In-domain score: below the threshold, the model falls back"}, barmode="overlay",
        height=420, xaxis={"title": {"text": "in-domain score"}}, yaxis={"title": {"text": "utterances"}},
        legend={"orientation": "h", "y": -0.2},
    ))
    return figure


def roc_points(in_domain: np.ndarray, ood: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of "in domain" over every threshold (in-domain is positive)."""
    scores = np.concatenate([in_domain, ood])
    positive = np.concatenate([np.ones(len(in_domain)), np.zeros(len(ood))])
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # a threshold between distinct scores
    tpr = np.r_[0.0, np.cumsum(positive)[last_of_tie] / max(len(in_domain), 1)]
    fpr = np.r_[0.0, np.cumsum(1 - positive)[last_of_tie] / max(len(ood), 1)]
    if len(fpr) > ROC_POINTS:
        keep = np.unique(np.r_[np.linspace(0, len(fpr) - 1, ROC_POINTS).astype(int), len(fpr) - 1])
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr, tpr


# Rows of the threshold trade-off table: thresholds refusing these shares of the in-domain test
# utterances, and catching these shares of the out-of-domain ones, beside the model's own.
FALSE_FALLBACK_STEPS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
OOD_RECALL_STEPS = (0.5, 0.75, 0.9, 0.95, 0.99)


def threshold_tradeoff(data: dict[str, Any]) -> list[dict[str, Any]]:
    """What other thresholds would give on the test data: in-scope accuracy (right intent, answered),
    out-of-domain recall (None without out-of-domain utterances) and false fallbacks (in-domain
    utterances refused), one row per threshold, ascending; the model's own is marked ``chosen``."""
    records = data["records"]
    if not records:
        return []
    scores = np.array([r["in_domain_score"] for r in records], dtype=np.float64)
    right = np.array([r["predicted_intent"] == r["gold_intent"] for r in records])
    ood = np.array([r["in_domain_score"] for r in data["ood_records"]], dtype=np.float64)
    chosen = float(data["figures"]["threshold"])
    # Just above the k-th lowest score refuses it: the thresholds sit between scores, like the model's.
    candidates = {round(float(np.quantile(scores, q, method="lower")) + (1e-4 if q else -1e-4), 4)
                  for q in FALSE_FALLBACK_STEPS}
    if len(ood):  # at or above the share asked for: the score that many out-of-domain ones reach
        candidates |= {round(float(np.quantile(ood, q, method="higher")) + 1e-4, 4) for q in OOD_RECALL_STEPS}
    rows = []
    for threshold in sorted(candidates | {chosen}):
        kept = scores >= threshold
        rows.append({
            "threshold": threshold, "chosen": threshold == chosen,
            "in_scope_accuracy": float((right & kept).mean()),
            "ood_recall": float((ood < threshold).mean()) if len(ood) else None,
            "false_fallbacks": int((~kept).sum()), "false_fallback_rate": float((~kept).mean()),
        })
    return rows


def roc(data: dict[str, Any]) -> Any | None:
    if not data["ood_records"]:
        return None
    go = _go()
    in_domain = np.array([r["in_domain_score"] for r in data["records"]], dtype=np.float64)
    ood = np.array([r["in_domain_score"] for r in data["ood_records"]], dtype=np.float64)
    fpr, tpr = roc_points(in_domain, ood)
    threshold = data["figures"]["threshold"]
    here_fpr, here_tpr = float(np.mean(ood >= threshold)), float(np.mean(in_domain >= threshold))
    auroc = data["figures"]["fallback"].get("auroc")
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=np.round(fpr, 4), y=np.round(tpr, 4), mode="lines", name="ROC",
                                hovertemplate="OOD kept %{x:.3f}<br>in-domain kept %{y:.3f}<extra></extra>"))
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                                line={"dash": "dot", "color": "gray"}, hoverinfo="skip"))
    figure.add_trace(go.Scatter(x=[here_fpr], y=[here_tpr], mode="markers", name="at the threshold",
                                marker={"size": 11, "color": "black", "symbol": "x"}))
    title = "ROC of the in-domain score" + (f" (AUROC {auroc:.4f})" if isinstance(auroc, float) else "")
    figure.update_layout(**_layout(
        title={"text": title}, height=420,
        xaxis={"title": {"text": "out-of-domain utterances answered (false-positive rate)"}, "range": [0, 1]},
        yaxis={"title": {"text": "in-domain utterances answered (true-positive rate)"}, "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.2},
    ))
    return figure


def projection(data: dict[str, Any]) -> Any | None:
    """Sentence vectors in 2-D, coloured by gold intent, with the class centres and the errors marked."""
    proj = data.get("projection")
    if not proj:
        return None
    go = _go()
    points = proj["points"]
    intents = proj["centre_intents"]
    colour_of = {name: i for i, name in enumerate(intents)}
    groups: dict[str, list[int]] = {"right": [], "wrong intent": [], "false fallback": [],
                                    "out of domain, fell back": [], "out of domain, answered": []}
    records = [*data["records"], *data["ood_records"]]
    for i, r in enumerate(records):
        if r["gold_intent"] is None:
            groups["out of domain, fell back" if r["fallback"] else "out of domain, answered"].append(i)
        elif r["predicted_intent"] != r["gold_intent"]:
            groups["wrong intent"].append(i)
        elif r["fallback"]:
            groups["false fallback"].append(i)
        else:
            groups["right"].append(i)
    style: dict[str, dict[str, Any]] = {
        "right": {"size": 4, "opacity": 0.45},
        "wrong intent": {"size": 8, "symbol": "x", "color": "#d62728"},
        "false fallback": {"size": 7, "symbol": "triangle-down", "color": "#ff7f0e"},
        "out of domain, fell back": {"size": 4, "color": "#aaaaaa", "opacity": 0.5},
        "out of domain, answered": {"size": 7, "symbol": "x-thin-open", "color": "#9467bd", "line": {"width": 2}},
    }
    figure = go.Figure()
    for name, members in groups.items():
        if not members:
            continue
        marker = dict(style[name])
        if name == "right":
            marker.update(color=[colour_of.get(records[i]["gold_intent"], 0) for i in members],
                          colorscale="Turbo", cmin=0, cmax=max(len(intents) - 1, 1))
        figure.add_trace(go.Scatter(
            x=[points[i][0] for i in members], y=[points[i][1] for i in members], mode="markers", name=name,
            marker=marker, text=[_hover(records[i]) for i in members], hovertemplate="%{text}<extra></extra>",
        ))
    centres = proj["centres"]
    figure.add_trace(go.Scatter(
        x=[c[0] for c in centres], y=[c[1] for c in centres], mode="markers", name="class centres",
        marker={"size": 10, "symbol": "diamond", "color": "black", "line": {"color": "white", "width": 1}},
        text=[html.escape(n) for n in intents], hovertemplate="centre of %{text}<extra></extra>",
    ))
    figure.update_layout(**_layout(
        title={"text": f"Sentence vectors in 2-D ({html.escape(proj['method'])}; "
                       f"{proj['explained_centre_variance']:.0%} of the centres' variance)"},
        height=640, xaxis={"title": {"text": "component 1"}}, yaxis={"title": {"text": "component 2"}},
        legend={"orientation": "h", "y": -0.12},
    ))
    return figure


def training_curves(data: dict[str, Any]) -> Any | None:
    history = data["model"]["training"].get("history") or []
    if not history:
        return None
    go = _go()
    from plotly.subplots import make_subplots

    epochs = [h["epoch"] for h in history]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "validation figures"))
    for key, name in (("loss", "training loss"), ("validation_loss", "validation loss")):
        if any(key in h for h in history):
            figure.add_trace(go.Scatter(x=epochs, y=[_num(h.get(key)) for h in history], name=name,
                                        mode="lines+markers"), row=1, col=1)
    for key, name in (("intent_accuracy", "intent accuracy"), ("entity_f1", "entity F1")):
        if any(key in h for h in history):
            figure.add_trace(go.Scatter(x=epochs, y=[_num(h.get(key)) for h in history], name=name,
                                        mode="lines+markers"), row=1, col=2)
    best = data["model"]["training"].get("best_epoch")
    if best:
        for col in (1, 2):
            figure.add_vline(x=best, line={"dash": "dash", "color": "gray"}, row=1, col=col)
    figure.update_layout(**_layout(
        title={"text": "Training, per epoch (dashed: the epoch kept)", "y": 0.98}, height=400,
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    ))
    figure.update_xaxes(title_text="epoch")
    return figure


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def all_figures(data: dict[str, Any]) -> dict[str, Any]:
    """The report's figures by element id; a figure without data (no OOD, no history) is left out."""
    built = {
        "confusion": confusion(data),
        "fallback-histogram": fallback_histogram(data),
        "roc": roc(data),
        "projection": projection(data),
        "training-curves": training_curves(data),
    }
    return {name: figure for name, figure in built.items() if figure is not None}
