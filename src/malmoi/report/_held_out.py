"""What a report says about how its test data was held out: a note when the test data is the model's
own training data, the "Conversations" section, and the "Cross-validation" section.

``malmoi test MODEL DATA --report r.html`` runs the conversation tests found for DATA
(:func:`malmoi.dialogue.testing.run_conversation_tests`) and keeps their results in the report's
data island (``conversations``); ``malmoi test BOT_DIR --cross-validate K --report r.html`` keeps
the folds' figures (``cross_validation``). A report without them shows no such section.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["cross_validation_section", "nav_links", "section", "training_note"]

# From this share of test utterances seen in training, the figures are mostly of the training data.
MOSTLY_SEEN = 0.5


def nav_links(data: dict[str, Any]) -> str:
    return ('<a href="#conversations">Conversations</a>' if data.get("conversations") else "") + (
        '<a href="#cross-validation">Cross-validation</a>' if data.get("cross_validation") else "")


def cross_validation_section(data: dict[str, Any]) -> str:
    """Each figure's mean ± sd over the folds, and its value in each fold."""
    found = data.get("cross_validation")
    if not found:
        return ""
    folds = found["folds"]
    head = "".join(f"<th>fold {f['fold']}</th>" for f in folds)
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td class=\"n\">{v['mean']:.4f}</td><td class=\"n\">{v['sd']:.4f}</td>"
        + "".join(f'<td class="n">{x:.4f}</td>' for x in v["folds"]) + "</tr>"
        for name, v in found["figures"].items()
    )
    return (f'<section id="cross-validation"><h2>Cross-validation ({found["k"]} folds, seed {found["seed"]})</h2>'
            '<p class="muted">Every utterance was scored once, by the model of the fold that did not train on it; '
            "the figures above pool them. Below, each figure's mean and standard deviation over the folds.</p>"
            f"<table><thead><tr><th>figure</th><th>mean</th><th>sd</th>{head}</tr></thead><tbody>{rows}</tbody>"
            "</table></section>")


def section(data: dict[str, Any]) -> str:
    """Every conversation with its result; a failed one open, with each step's answer and what was wrong."""
    found = data.get("conversations")
    if not found:
        return ""
    blocks = []
    for conversation in found["conversations"]:
        passed = conversation["passed"]
        rows = []
        for step in conversation["steps"]:
            wrong = "<br>".join(html.escape(m) for m in step["mismatches"])
            rows.append(
                f'<tr><td class="n">{step["number"]}</td><td>{html.escape(step["user"])}</td>'
                f'<td>{html.escape(step["answer"] or "")}</td><td>{html.escape(step["intent"])} '
                f'<span class="muted">{step["confidence"]:.2f}</span></td>'
                f'<td>{html.escape(", ".join(f"{t}={v}" for t, v in step["entities"]))}</td>'
                f'<td>{html.escape(step["status"])}</td><td class="bad">{wrong}</td></tr>'
            )
        error = f'<p class="bad">{html.escape(conversation["error"])}</p>' if conversation["error"] else ""
        verdict = "passed" if passed else '<span class="bad">FAILED</span>'
        blocks.append(
            f'<details{"" if passed else " open"}><summary>{verdict} · {html.escape(conversation["name"])} '
            f'<span class="muted">({html.escape(conversation["file"])}:{conversation["line"]})</span></summary>'
            f"{error}<table><thead><tr><th>step</th><th>user</th><th>bot</th><th>intent</th><th>entities</th>"
            f"<th>state</th><th>wrong</th></tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
        )
    failed = found["failed"]
    head = (f'{found["total"] - failed} of {found["total"]} conversation test(s) passed'
            + (f', <span class="bad">{failed} failed</span>' if failed else ""))
    return (f'<section id="conversations"><h2>Conversations</h2><p>{head} '
            f'<span class="muted">({html.escape(found["folder"])}; <code>malmoi test MODEL BOT_DIR '
            f"--conversations</code>)</span></p>{''.join(blocks)}</section>")


def training_note(data: dict[str, Any]) -> str:
    """A warning when most test utterances were training utterances of the model ("" otherwise)."""
    overlap = data.get("training_data")
    if not overlap or not overlap.get("seen"):
        return ""
    seen, total = overlap["seen"], overlap["utterances"]
    if seen / max(total, 1) < MOSTLY_SEEN:
        return f'<p class="muted">{seen} of {total} test utterances were in the model\'s training data.</p>'
    return (f'<section id="training-data"><h2 class="bad">This is the training data</h2><p>{seen} of {total} test '
            "utterances are the model's training data: these figures say how well it learned them, not how it "
            "answers what it has not seen. Measure on held-out data: <code>malmoi split BOT_DIR --test 0.2 --out "
            "DIR</code>, or <code>malmoi test BOT_DIR --cross-validate 5</code>.</p></section>")
