"""The ``malmoi`` command line: validate | train | parse | test | shell."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """A mistake the user can fix; printed as one clear message, never as a traceback."""


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    from malmoi.errors import DataError, ModelLoadError

    try:
        return args.func(args)
    except DataError as exc:
        _print_problems(exc.problems)
        print("Fix the errors above and run the command again.", file=sys.stderr)
        return EXIT_FAILED
    except (ModelLoadError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _build_parser() -> argparse.ArgumentParser:
    from malmoi._version import __version__

    parser = argparse.ArgumentParser(prog="malmoi", description="Korean-first task-oriented chatbots.")
    parser.add_argument("--version", action="version", version=f"malmoi {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log training details")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("validate", help="check a bot directory and report every problem")
    p.add_argument("bot_dir")
    p.set_defaults(func=_validate)

    p = commands.add_parser("train", help="train a model from a bot directory")
    p.add_argument("bot_dir")
    p.add_argument("--out", help="model directory (default: models/<bot name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

    p = commands.add_parser("parse", help="parse text or a file of utterances")
    p.add_argument("model_dir")
    p.add_argument("text", nargs="?", help="an utterance; or use --input")
    p.add_argument("--input", help="file with one utterance per line, or JSON lines with a 'text' field")
    p.add_argument("--output", help="write JSON lines here (default: standard output)")
    p.add_argument("--batch-size", type=int, default=256)
    p.set_defaults(func=_parse)

    p = commands.add_parser("test", help="measure a model on labelled data")
    p.add_argument("model_dir")
    p.add_argument("data", nargs="?", help="bot directory with test data (default: the held-out validation report)")
    p.add_argument("--json", dest="json_out", help="also write the metrics as JSON to this file")
    p.set_defaults(func=_test)

    p = commands.add_parser("shell", help="type utterances and see how the model parses them")
    p.add_argument("model_dir")
    p.set_defaults(func=_shell)
    return parser


def _print_problems(problems: list[Any]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    from malmoi.data import validate_bot

    problems = validate_bot(args.bot_dir)
    _print_problems(problems)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        print(f"{args.bot_dir}: {errors} error(s), {warnings} warning(s).", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.bot_dir}: valid ({warnings} warning(s)).")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    import malmoi
    from malmoi.data import load_bot

    config, data = load_bot(args.bot_dir)
    out = Path(args.out) if args.out else Path("models") / config.name
    print(
        f"Training '{config.name}': {len(data.examples)} utterances, {len(data.intents)} intents, "
        f"{len(data.entity_types)} entity types, {len(data.ood)} out-of-domain.",
        file=sys.stderr,
    )
    model = malmoi.train((config, data), progress=not args.quiet)
    model.save(out)
    report = model.report
    valid = report.get("validation", {})
    print(
        f"Saved {out} in {report['train_seconds']} s "
        f"(validation: intent accuracy {valid.get('intent_accuracy', float('nan')):.4f}, "
        f"entity F1 {valid.get('entity_f1', float('nan')):.4f}; fallback threshold {model.threshold:.4f})."
    )
    return EXIT_OK


def _read_utterances(path: str) -> Iterator[str]:
    """Plain lines, or JSON lines with a ``text`` field (decided by the first non-blank line)."""
    try:
        handle = open(path, encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        json_lines: bool | None = None
        try:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                if json_lines is None:
                    json_lines = line.lstrip().startswith("{")
                if not json_lines:
                    yield line
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}:{number}: not valid JSON ({exc.msg}); expected one object per line like {{\"text\": \"...\"}}") from exc
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    raise UserError(f"{path}:{number}: found {line[:60]!r}; expected an object with a string 'text' field")
                yield record["text"]
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8") from exc


def _parse(args: argparse.Namespace) -> int:
    import malmoi

    if (args.text is None) == (args.input is None):
        raise UserError("give either an utterance or --input FILE (not both)")
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    model = malmoi.load(args.model_dir)
    if args.text is not None:
        print(json.dumps(model.parse(args.text).to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    count = 0
    try:
        batch: list[str] = []
        for text in _read_utterances(args.input):
            batch.append(text)
            if len(batch) == args.batch_size:
                count += _write_batch(model, batch, out)
                batch = []
        if batch:
            count += _write_batch(model, batch, out)
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"parsed {count} utterance(s)" + (f" into {args.output}" if args.output else ""), file=sys.stderr)
    return EXIT_OK


def _write_batch(model: Any, texts: list[str], out: TextIO) -> int:
    for result in model.parse_batch(texts):
        out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    return len(texts)


def _test(args: argparse.Namespace) -> int:
    import malmoi
    from malmoi.evaluate import evaluate, format_table

    model = malmoi.load(args.model_dir)
    if args.data is None:
        report = {"source": "held-out validation split used during training", **model.report}
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        from malmoi.data import load_bot

        _, data = load_bot(args.data)
        report = evaluate(model, data.examples, data.ood)
        rows = [{"intent": k, **v} for k, v in report["per_intent"].items()]
        print(format_table(rows, ["intent", "precision", "recall", "f1", "support"]))
        summary = {
            "intent accuracy": report["intent_accuracy"],
            "in-domain accuracy (no fallback)": report["in_domain_accuracy"],
            "entity precision": report["entity"]["precision"],
            "entity recall": report["entity"]["recall"],
            "entity F1": report["entity"]["f1"],
            **{f"fallback {k}": v for k, v in report["fallback"].items()},
            "threshold": report["threshold"],
        }
        print()
        print(format_table([{"metric": k, "value": v} for k, v in summary.items()], ["metric", "value"]))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    return EXIT_OK


def _shell(args: argparse.Namespace) -> int:
    import malmoi

    model = malmoi.load(args.model_dir)
    print(f"malmoi shell — model '{model.config.name}'. Type an utterance; Ctrl-D or 'exit' to quit.")
    while True:
        try:
            text = input("> ")
        except EOFError:
            print()
            return EXIT_OK
        if text.strip() in {"exit", "quit", ":q"}:
            return EXIT_OK
        if not text.strip():
            continue
        result = model.parse(text)
        ranking = ", ".join(f"{s.name} {s.confidence:.2f}" for s in result.intent_ranking[:3])
        print(f"  intent: {result.intent.name}{'  (fallback)' if result.fallback else ''}   [{ranking}]")
        for e in result.entities:
            print(f"  {e.entity}: {e.value!r} [{e.start}:{e.end}]")


if __name__ == "__main__":
    sys.exit(main())
