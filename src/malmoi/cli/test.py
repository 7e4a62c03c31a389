"""``malmoi test MODEL_DIR [DATA]``: measure a model on labelled data, optionally into an HTML report;
``--conversations``: run the bot's conversation tests; ``malmoi test BOT_DIR --cross-validate K``: k-fold."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from malmoi.cli._common import EXIT_FAILED, EXIT_OK, Commands, UserError, now_option
from malmoi.outputs import check_file, marked


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("test", help="measure a model on labelled data, run conversation tests, cross-validate")
    p.add_argument("model_dir", help="the model; with --cross-validate, the bot directory")
    p.add_argument("data", nargs="?", help="bot directory with test data (default: the held-out validation report)")
    p.add_argument("--conversations", action="store_true",
                   help="run the conversation tests of DATA/test/conversations/*.yml (or DATA/conversations) "
                   "instead; exit status 1 when one fails")
    p.add_argument("--junit", help="with --conversations: also write the results as JUnit XML to this file")
    p.add_argument("--cross-validate", type=int, metavar="K",
                   help="k-fold cross-validation of the bot directory MODEL_DIR: train on K-1 folds, score the "
                   "K-th, K times; mean ± sd")
    p.add_argument("--seed", type=int, default=0, help="with --cross-validate: how the folds are drawn (default 0)")
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

    if args.cross_validate is not None:
        return _cross_validate(args)
    if args.junit and not args.conversations:
        raise UserError("--junit writes the results of the conversation tests: add --conversations")
    if args.conversations:
        return _conversations(args)
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
        from malmoi.data.overlap import REPORT_KEY

        report = {"source": "held-out validation split used during training",
                  **{k: v for k, v in model.report.items() if k != REPORT_KEY}}
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        from malmoi.data import load_bot

        _, data = load_bot(args.data)
        _say_if_training_data(model, data, args.data)
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
        overlap = _training_overlap(model, data)
        if overlap is not None:
            report["training_data"] = overlap
        if args.report:
            _write_html_report(args, model, data, evaluation, suspects)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(marked(report), ensure_ascii=False, indent=2), "utf-8")
    return EXIT_OK


def _conversations(args: argparse.Namespace) -> int:
    """``--conversations``: each failing step with what was expected and what came; 1 when one fails."""
    import malmoi
    from malmoi.data.conversations import conversations_dir
    from malmoi.dialogue.testing import run_conversation_tests, write_junit

    if args.data is None:
        raise UserError("--conversations needs the bot directory: malmoi test MODEL BOT_DIR --conversations")
    if args.report or args.json_out or args.suspects:
        raise UserError("--conversations prints and --junit writes its results; --report and --json measure "
                        "labelled data: run them without --conversations (the report includes the conversations)")
    if args.junit:
        check_file(args.junit, "--junit", "junit")
    folder = conversations_dir(args.data)
    if not folder.is_dir():
        raise UserError(f"no conversation tests: {folder} does not exist; write them as "
                        f"{folder}/NAME.yml (docs/testing.md)")
    model = malmoi.load(args.model_dir)
    report = run_conversation_tests(model, args.data)
    for line in report.failure_lines():
        print(line)
    print(report.summary())
    if args.junit:
        print(f"wrote {write_junit(report, args.junit)}", file=sys.stderr)
    if not report.results:
        print(f"note: {folder} holds no conversation", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _training_overlap(model: Any, data: Any) -> dict[str, Any] | None:
    from malmoi.data.overlap import training_overlap

    return training_overlap(model.report, [e.text for e in (*data.examples, *data.ood)])


def _say_if_training_data(model: Any, data: Any, where: str) -> None:
    """Say so when the test data is the model's training data: its figures then flatter the model."""
    overlap = _training_overlap(model, data)
    if overlap is None or not overlap["seen"]:
        return
    seen, total = overlap["seen"], overlap["utterances"]
    if seen / max(total, 1) >= 0.5:
        print(f"note: {seen} of {total} utterances of {where} are the model's training data: these figures say how "
              "well it learned them, not how it answers what it has not seen. Measure on held-out data: "
              "`malmoi split BOT_DIR --test 0.2 --out DIR`, train on DIR and test on DIR/test, or "
              "`malmoi test BOT_DIR --cross-validate 5`", file=sys.stderr)
    else:
        print(f"note: {seen} of {total} utterances of {where} were in the model's training data", file=sys.stderr)


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
    content.update(_report_extras(model, data, args.data))
    path = write_report(args.report, content)
    print(f"\nWrote the report {path} ({path.stat().st_size / 1e6:.1f} MB); open it in a browser.", file=sys.stderr)


def _report_extras(model: Any, data: Any, where: str) -> dict[str, Any]:
    """What the report adds to the figures: the conversation tests found for ``where``, and how much
    of the test data the model trained on."""
    from malmoi.data.conversations import conversations_dir
    from malmoi.dialogue.testing import run_conversation_tests

    extras: dict[str, Any] = {}
    overlap = _training_overlap(model, data)
    if overlap is not None:
        extras["training_data"] = overlap
    if conversations_dir(where).is_dir():
        extras["conversations"] = run_conversation_tests(model, where).to_dict()
    return extras


def _cross_validate(args: argparse.Namespace) -> int:
    """``malmoi test BOT_DIR --cross-validate K``: each figure's mean ± sd over the folds, per-intent F1."""
    from malmoi.crossval import cross_validate, mean_sd
    from malmoi.data import load_bot
    from malmoi.evaluate import format_table

    bot_dir = args.model_dir
    if args.data is not None:
        raise UserError("--cross-validate trains its own models from one bot directory: malmoi test BOT_DIR "
                        "--cross-validate 5")
    if args.cross_validate < 2:
        raise UserError("--cross-validate needs at least 2 folds")
    if args.conversations or args.suspects:
        raise UserError("--cross-validate does not run with --conversations or --suspects")
    if args.json_out:
        check_file(args.json_out, "--json")
    if args.report:
        check_file(args.report, "--report", "report")
        _check_report_dependencies()
    if not (Path(bot_dir) / "bot.yaml").is_file():
        raise UserError(f"{bot_dir} is not a bot directory (no bot.yaml); --cross-validate trains from one")
    config, data = load_bot(bot_dir)
    try:
        result, model = cross_validate(config, data, args.cross_validate, seed=args.seed,
                                       say=lambda message: print(message, file=sys.stderr))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    folds = [f"fold {f.number}" for f in result.folds]
    rows = []
    for name, values in result.figures().items():
        mean, sd = mean_sd(values)
        rows.append({"figure": name, "mean": mean, "sd": sd, **dict(zip(folds, values))})
    print(f"{result.k}-fold cross-validation of {bot_dir} (seed {result.seed}): {len(data.examples)} utterances, "
          f"{len(data.ood)} out of domain; each scored by the model that did not train on it")
    print(format_table(rows, ["figure", "mean", "sd", *folds]))
    print()
    intents = [{"intent": name, "F1 mean": mean_sd(v)[0], "sd": mean_sd(v)[1], "folds": len(v)}
               for name, v in result.per_intent_f1().items()]
    print(format_table(intents, ["intent", "F1 mean", "sd", "folds"]))
    document = result.to_dict()
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(marked(document), ensure_ascii=False, indent=2), "utf-8")
    if args.report:
        from malmoi.report import report_data, write_report

        content = report_data(result.pooled(), model, data_dir=bot_dir)
        content["cross_validation"] = document
        path = write_report(args.report, content)
        print(f"\nWrote the report {path} (every utterance scored by its fold's model; the model card is the last "
              "fold's); open it in a browser.", file=sys.stderr)
    return EXIT_OK
