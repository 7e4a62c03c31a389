"""``malmoi test MODEL_DIR [DATA]``: measure a model on labelled data, optionally into an HTML report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from malmoi.cli._common import EXIT_OK, Commands, UserError, now_option
from malmoi.outputs import check_file, marked


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("test", help="measure a model on labelled data")
    p.add_argument("model_dir")
    p.add_argument("data", nargs="?", help="bot directory with test data (default: the held-out validation report)")
    now_option(p)
    p.add_argument("--json", dest="json_out", help="also write the metrics as JSON to this file")
    p.add_argument("--report", help="also write one self-contained HTML report (plots, errors, model card) to "
                   "this file; needs plotly: pip install 'malmoi[report]'")
    p.add_argument("--suspects", help="with --report: add a 'Label suspects' section from this suspects.json "
                   "of `malmoi clean`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import malmoi
    from malmoi.evaluate import evaluate, format_table

    if args.json_out:
        check_file(args.json_out, "--json")
    if args.report:
        if args.data is None:
            raise UserError("--report needs test data: malmoi test MODEL DATA --report report.html")
        check_file(args.report, "--report", "report")
        _check_report_dependencies()
    suspects = _read_suspects(args)
    model = malmoi.load(args.model_dir)
    if args.data is None:
        report = {"source": "held-out validation split used during training", **model.report}
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        from malmoi.data import load_bot

        _, data = load_bot(args.data)
        evaluation = evaluate(model, data.examples, data.ood, now=args.now)
        rows = [{"intent": k, **v.to_dict()} for k, v in evaluation.per_intent.items()]
        print(format_table(rows, ["intent", "precision", "recall", "f1", "support"]))
        entity = evaluation.entity
        if entity.per_type:
            errors = entity.confusion["by_type"]
            rows = [{"entity": k, **v.to_dict(), **errors.get(k, {})} for k, v in entity.per_type.items()]
            print()
            print(format_table(rows, ["entity", "precision", "recall", "f1", "support", "wrong_type",
                                      "wrong_boundary", "wrong_type_and_boundary", "missed", "spurious"]))
        summary = {
            "intent accuracy": evaluation.intent_accuracy,
            "in-domain accuracy (no fallback)": evaluation.in_domain_accuracy,
            "entity precision": entity.precision,
            "entity recall": entity.recall,
            "entity F1": entity.f1,
            **{f"fallback {k}": v for k, v in evaluation.fallback.to_dict().items()},
            "threshold": evaluation.threshold,
        }
        print()
        print(format_table([{"metric": k, "value": v} for k, v in summary.items()], ["metric", "value"]))
        report = evaluation.to_dict()
        if args.report:
            _write_html_report(args, model, data, evaluation, suspects)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(marked(report), ensure_ascii=False, indent=2), "utf-8")
    return EXIT_OK


def _check_report_dependencies() -> None:
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise UserError("--report needs plotly: pip install 'malmoi[report]'") from None


def _read_suspects(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--suspects``: the suspects.json of `malmoi clean`, read before any model work."""
    if not getattr(args, "suspects", None):
        return None
    if not args.report:
        raise UserError("--suspects adds a section to the HTML report: give --report FILE.html too")
    from malmoi.report import ReportError
    from malmoi.report._suspects import read_suspects

    try:
        return read_suspects(args.suspects)
    except ReportError as exc:
        raise UserError(f"--suspects {exc}") from None


def _write_html_report(args: argparse.Namespace, model: Any, data: Any, evaluation: Any,
                       suspects: dict[str, Any] | None = None) -> None:
    from malmoi.report import report_data, write_report

    content = report_data(evaluation, model, model_dir=args.model_dir, data_dir=args.data)
    if suspects is not None:
        content["label_suspects"] = suspects
    path = write_report(args.report, content)
    print(f"\nWrote the report {path} ({path.stat().st_size / 1e6:.1f} MB); open it in a browser.", file=sys.stderr)
