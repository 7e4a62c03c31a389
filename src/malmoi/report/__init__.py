"""Evaluation reports: one offline HTML file per evaluation, and what changed between two.

    >>> from malmoi.evaluate import evaluate
    >>> from malmoi.report import report_data, write_report, read_report, compare
    >>> evaluation = evaluate(model, data.examples, data.ood)                     # doctest: +SKIP
    >>> write_report("report.html", report_data(evaluation, model, model_dir="models/demo"))  # doctest: +SKIP
    >>> compare(read_report("old.html"), read_report("new.html"))["intents"]     # doctest: +SKIP

The HTML report needs plotly (``pip install 'malmoi[report]'``); reading and comparing reports
does not.
"""

from __future__ import annotations

from malmoi.report._compare import compare, format_comparison
from malmoi.report._data import ReportError, read_report, report_data
from malmoi.report._html import write_report

__all__ = ["ReportError", "compare", "format_comparison", "read_report", "report_data", "write_report"]
