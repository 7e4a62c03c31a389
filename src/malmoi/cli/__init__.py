"""The ``malmoi`` command line: validate | import | train | parse | test | compare | shell | serve | publish |
versions | rollback | keys | review | retrain."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from malmoi.outputs import check_file, check_folder, marked

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Characters that cannot be in a folder name on some system, and control characters.
_UNSAFE_NAME_RE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


class UserError(Exception):
    """A mistake the user can fix; printed as one clear message, never as a traceback."""


class _Parser(argparse.ArgumentParser):
    """A command's options and arguments in any order: ``parse MODEL --batch-size 8 "안녕"``.

    Plain argparse fills an optional argument (``text``, ``nargs="?"``) with nothing as soon as
    it reads the argument before it, so an utterance after an option is "unrecognized".
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args twice; those calls parse plainly.
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    from malmoi.errors import DataError, ModelLoadError, ModelSaveError, OutputError

    try:
        return args.func(args)
    except DataError as exc:
        _print_problems(exc.problems)
        print("Fix the errors above and run the command again.", file=sys.stderr)
        return EXIT_FAILED
    except (ModelLoadError, ModelSaveError, OutputError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a disk that fills up or a folder that vanishes while writing
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _build_parser() -> argparse.ArgumentParser:
    from malmoi._version import __version__

    parser = argparse.ArgumentParser(prog="malmoi", description="Korean-first task-oriented chatbots.")
    parser.add_argument("--version", action="version", version=f"malmoi {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log training details")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("validate", help="check a bot directory and report every problem")
    p.add_argument("bot_dir")
    p.set_defaults(func=_validate)

    p = commands.add_parser("import", help="make a bot directory from SNIPS/ATIS folders, CLINC150 JSON "
                            "or a Kochat data folder")
    p.add_argument("format", choices=["snips", "atis", "clinc150", "kochat"],
                   help="snips and atis: split folders of seq.in, seq.out, label; clinc150: data_full.json; "
                   "kochat: a folder of raw/<intent>.csv and ood/ (rows with errors are left out and listed)")
    p.add_argument("path", help="the folder of splits (snips, atis), the JSON file (clinc150) or the folder "
                   "that holds raw/ (kochat)")
    p.add_argument("--split", action="append", help="split to import, repeatable or comma-separated (default: "
                   "train; not for kochat)")
    p.add_argument("--out", required=True, help="bot directory to create")
    p.add_argument("--language", help="the bot's language (default: ko for kochat, en otherwise)")
    p.add_argument("--name", help="the bot's name (default: <data set>-<splits>; for kochat, the folder name)")
    p.add_argument("--min-examples", type=int, default=5,
                   help="leave out intents with fewer examples (default 5, the loader's minimum)")
    p.add_argument("--force", action="store_true", help="replace bot.yaml and data/ in a non-empty --out")
    p.set_defaults(func=_import)

    p = commands.add_parser("train", help="train a model from a bot directory")
    p.add_argument("bot_dir")
    p.add_argument("--out", help="model directory (default: models/<bot name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--skip-invalid", action="store_true",
                   help="leave out the utterances with errors of their own (bad tags, an utterance under two "
                   "intents: every copy) and train on the rest; lists each one left out")
    p.add_argument("--tensorboard", metavar="DIR", help="write each epoch's figures for TensorBoard into DIR "
                   "(`tensorboard --logdir DIR`); needs pip install 'malmoi[tensorboard]'")
    p.add_argument("--mlflow", metavar="URI", help="log the run (settings, each epoch's figures, model.json) to "
                   "this MLflow tracking URI; default $MLFLOW_TRACKING_URI when set; needs pip install "
                   "'malmoi[mlflow]'")
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
    p.add_argument("--report", help="also write one self-contained HTML report (plots, errors, model card) to "
                   "this file; needs plotly: pip install 'malmoi[report]'")
    p.add_argument("--suspects", help="with --report: add a 'Label suspects' section from this suspects.json "
                   "of `malmoi clean`")
    p.set_defaults(func=_test)

    p = commands.add_parser("compare", help="what got better and worse between two reports of `malmoi test --report`")
    p.add_argument("report_a", help="the report before (HTML)")
    p.add_argument("report_b", help="the report after (HTML)")
    p.add_argument("--examples", type=int, default=10, help="utterances listed per kind of change (default 10)")
    p.add_argument("--json", dest="json_out", help="also write the whole comparison as JSON to this file")
    p.set_defaults(func=_compare)

    p = commands.add_parser("shell", help="type utterances and see how the model parses them")
    p.add_argument("model_dir")
    p.set_defaults(func=_shell)

    p = commands.add_parser("serve", help="serve a model over HTTP: JSON API, chat, Kochat routes, web page")
    p.add_argument("model_dir", nargs="?", help="the model to serve (or --registry DIR for every published bot)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--database-url", help="SQLAlchemy URL for conversations and the message log "
                   "(default: sqlite:///malmoi-state.sqlite3 in the current directory)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes, each with its own copy of the model (default 1: one batching "
                   "process serves ~700 parses/s on 2 cores)")
    p.add_argument("--scenarios", help="Python module (or module:name) with a malmoi.dialogue.Scenarios of actions")
    p.add_argument("--access-log", action="store_true", help="log every request (costs throughput)")
    p.add_argument("--allowed-host", action="append", metavar="HOST",
                   help="a Host header to answer, repeatable; others get 400 (against DNS rebinding). Default: "
                   "localhost, 127.0.0.1, ::1 and --host; '*.example.com' a domain, '*' any host")
    p.add_argument("--read-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="close a connection whose request headers, or body, take longer to arrive (default 10)")
    p.add_argument("--keep-alive-timeout", type=int, default=5, metavar="SECONDS",
                   help="close an idle keep-alive connection after this long (default 5)")
    p.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="proxies whose X-Forwarded-For names the client, comma-separated addresses or networks "
                   "(as uvicorn's option); default: none, proxy headers are never trusted (docs/serving.md)")
    # Many bots (docs/bots.md): the options below apply with --registry only.
    p.add_argument("--registry", help="serve every bot published in this registry at /v1/bots/{bot}/...")
    p.add_argument("--cache-mb", type=float, default=1024,
                   help="with --registry: memory for loaded bots in MB; least recently used leave first (default 1024)")
    p.add_argument("--no-keys", action="store_true",
                   help="with --registry: answer without API keys (any client that reaches the port uses every bot)")
    # Scale-out (docs/bots.md, "Scale-out on Ray Serve"): with --registry, the `ray` extra.
    p.add_argument("--ray", action="store_true",
                   help="with --registry: serve on Ray Serve, multiplexed by bot version (pip install 'malmoi[ray]')")
    p.add_argument("--replicas", type=int, default=1, help="with --ray: replicas of the server (default 1)")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="with --ray: join this Ray cluster ('auto', or host:port); default: start Ray on this machine")
    # The review page (docs/review.md).
    p.add_argument("--review-data", metavar="BOT_DIR", help="serve the review page at /review (to this machine "
                   "only), writing answers into this bot directory, the one the model was trained from")
    p.add_argument("--review-dir", metavar="DIR", help="with --registry: serve /review/{bot} to admin keys, "
                   "writing answers into DIR/<bot>")
    p.set_defaults(func=_serve)

    _add_bots_commands(commands)
    _add_review_commands(commands)
    p = commands.add_parser("clean", help="find mislabelled utterances (PICO) and, with --apply, move them")
    p.add_argument("bot_dir")
    p.add_argument("--out", help="folder for suspects.csv, suspects.json, backups and diffs (default: BOT_DIR/clean)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of check-vote-correct at most (default 2)")
    p.add_argument("--splits", type=int, default=3, help="random splits per round (default 3)")
    p.add_argument("--folds", type=int, default=5, help="folds per split (default 5)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="checker processes (default: 2, or 1 on one core)")
    p.add_argument("--ray-address", help="run the checkers as Ray tasks on this cluster instead of local processes "
                   "('auto', 'ray://HOST:10001', or 'local' to start Ray here; needs pip install 'malmoi[ray]')")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="P(given intent wrong) from which an utterance is a suspect (default 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--show", type=int, default=20, help="suspects printed (default 20; all are in the files)")
    p.add_argument("--apply", action="store_true",
                   help="move confident suspects to their suggested intent's CSV and set the others aside "
                   "(see --confident; backup and diff in --out)")
    p.add_argument("--confident", type=float, default=0.9,
                   help="with --apply: a suspect moves to its suggestion when that has at least this probability; "
                   "the other suspects are set aside in --out for review (default 0.9; 0 moves every suspect)")
    p.add_argument("--entities", action=argparse.BooleanOptionalAction, default=None,
                   help="also check entity tags with cross-validated CRFs (entity_suspects.csv/.json; "
                   "default: when the bot has entities; never applied)")
    p.set_defaults(func=_clean)
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


def _import(args: argparse.Namespace) -> int:
    from malmoi.data.importers import (
        NOTES_FILE,
        import_clinc150,
        import_kochat,
        import_snips,
    )

    if args.min_examples < 1:
        raise UserError("--min-examples must be at least 1")
    language = args.language or ("ko" if args.format == "kochat" else "en")
    if args.format == "kochat":
        if args.split:
            raise UserError("--split is for snips, atis and clinc150; a Kochat folder has no splits")
        result = import_kochat(args.path, args.out, language=language, name=args.name,
                               min_examples=args.min_examples, force=args.force)
    else:
        splits = [s.strip() for value in (args.split or ["train"]) for s in value.split(",") if s.strip()]
        if not splits:
            raise UserError("--split needs a split name, like --split train")
        importer = import_clinc150 if args.format == "clinc150" else import_snips
        result = importer(args.path, args.out, splits=splits, language=language, name=args.name,
                          min_examples=args.min_examples, force=args.force)
    data = result.data
    if data.left_out:
        rows = len({(p.file, p.line) for p in data.left_out})
        print(f"Left out {rows} source row(s) with errors of their own:", file=sys.stderr)
        _print_problems(data.left_out)
    if result.notes:
        print(f"{len(result.notes)} change(s) to the source data, so that malmoi can load it:", file=sys.stderr)
        _print_problems(result.notes)
    listed = f" (listed in {result.bot_dir / NOTES_FILE})" if data.left_out or result.notes else ""
    print(f"Imported {len(data.examples)} utterances into {result.bot_dir}: {len(data.intents)} intents, "
          f"{len(data.entity_types)} entity types, {len(data.ood)} out-of-domain{listed}. "
          f"Next: `malmoi train {result.bot_dir}`.")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    import malmoi
    from malmoi.data import load_bot

    if args.out:
        check_folder(args.out, "model", "--out")
    if args.tensorboard:
        from malmoi.tracking import tensorboard_available

        _check_output_dir(args.tensorboard, "--tensorboard")
        if not tensorboard_available():
            raise UserError("--tensorboard needs the tensorboard package: pip install 'malmoi[tensorboard]'")
    mlflow_uri = _mlflow_uri(args)
    config, data = load_bot(args.bot_dir, skip_invalid=args.skip_invalid)
    out = Path(args.out) if args.out else _default_model_dir(config.name)
    if data.left_out:
        rows = len({(p.file, p.line) for p in data.left_out})
        print(f"Left out {rows} utterance(s) with errors (--skip-invalid):", file=sys.stderr)
        _print_problems(data.left_out)
    print(
        f"Training '{config.name}': {len(data.examples)} utterances, {len(data.intents)} intents, "
        f"{len(data.entity_types)} entity types, {len(data.ood)} out-of-domain.",
        file=sys.stderr,
    )
    with contextlib.ExitStack() as stack:
        tensorboard = stack.enter_context(_tensorboard(args.tensorboard)) if args.tensorboard else None
        mlflow = None
        if mlflow_uri is not None:
            from malmoi.tracking import MLflowLogger

            mlflow = stack.enter_context(MLflowLogger(mlflow_uri, run_name=config.name))
        trackers = [t for t in (tensorboard, mlflow) if t is not None]

        def on_epoch(phase: str, record: dict[str, float]) -> None:
            for tracker in trackers:
                tracker(phase, record)

        if trackers:
            model = malmoi.train((config, data), progress=not args.quiet, on_epoch=on_epoch)
        else:
            model = malmoi.train((config, data), progress=not args.quiet)
        model.save(out)
        if tensorboard is not None:
            tensorboard.finish(model)
        if mlflow is not None:
            mlflow.finish(model, out)
            print(f"MLflow run {mlflow.run_id} logged to {mlflow_uri}.", file=sys.stderr)
    report = model.report
    valid = report.get("validation", {})
    print(
        f"Saved {out} in {report['train_seconds']} s "
        f"(validation: intent accuracy {valid.get('intent_accuracy', float('nan')):.4f}, "
        f"entity F1 {valid.get('entity_f1', float('nan')):.4f}; fallback threshold {model.threshold:.4f})."
    )
    return EXIT_OK


def _mlflow_uri(args: argparse.Namespace) -> str | None:
    """The MLflow tracking URI to log to: ``--mlflow``, else $MLFLOW_TRACKING_URI; None: no MLflow."""
    from malmoi.tracking import mlflow_available

    uri = args.mlflow if args.mlflow is not None else os.environ.get("MLFLOW_TRACKING_URI")
    if uri is None:
        return None
    if not mlflow_available():
        if args.mlflow is not None:
            raise UserError("--mlflow needs the mlflow package: pip install 'malmoi[mlflow]'")
        print("note: MLFLOW_TRACKING_URI is set but mlflow is not installed; the run is not logged "
              "(pip install 'malmoi[mlflow]')", file=sys.stderr)
        return None
    return uri


def _tensorboard(log_dir: str) -> Any:
    from malmoi.tracking import TensorBoardLogger

    return TensorBoardLogger(log_dir)


def _default_model_dir(name: str) -> Path:
    """``models/<name>``, with the name made one safe folder name: a bot called ``/tmp/x`` or
    ``../..`` must not choose where its model is written."""
    # Path separators split the name into parts; `..` and `.` parts say nothing and go.
    parts = (part.strip(" .") for part in _UNSAFE_NAME_RE.split(name))
    safe = "_".join(part for part in parts if part) or "bot"
    out = Path("models") / safe
    if safe != name:
        print(f"The bot name {name!r} is not a folder name; saving under {out} (choose with --out).",
              file=sys.stderr)
    check_folder(out, "model", "the model folder")
    return out


def _check_output_dir(path: str | os.PathLike[str], what: str) -> None:
    """Fail now, not after the work, if ``path`` cannot become a folder to write into."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file, not a folder; give a folder for the model, "
                        f"like {path.parent / (path.stem + '-model')}")
    _check_writable_parent(path, what, path)


def _check_writable_parent(folder: Path, what: str, path: Path) -> None:
    """The nearest existing folder at or above ``folder`` must be a folder we can write in."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot write {what} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {what} {path}: no permission to write in {existing}")


def _read_utterances(path: str) -> Iterator[str]:
    """Plain lines, or JSON lines with a ``text`` field (decided by the first non-blank line)."""
    from malmoi.data._reading import MAX_LINE_CHARS

    try:
        handle = open(path, encoding="utf-8-sig")  # noqa: SIM115 - `with` below; here, to tell open errors apart
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        json_lines: bool | None = None
        try:
            # Bounded reads: a huge line is refused, not read whole into memory.
            for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS + 2), ""), 1):
                line = line.rstrip("\r\n")
                if len(line) > MAX_LINE_CHARS:
                    raise UserError(f"{path}:{number}: a line of more than {MAX_LINE_CHARS:,} characters; "
                                    "expected one utterance per line")
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
                    raise UserError(f"{path}:{number}: not valid JSON ({exc.msg}); "
                                    'expected one object per line like {"text": "..."}') from exc
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    raise UserError(f"{path}:{number}: found {line[:60]!r}; "
                                    "expected an object with a string 'text' field")
                yield record["text"]
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8") from exc


def _parse(args: argparse.Namespace) -> int:
    import malmoi

    if (args.text is None) == (args.input is None):
        raise UserError("give either an utterance or --input FILE (not both)")
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if args.output:
        if args.input and Path(args.input).exists() and Path(args.output).resolve() == Path(args.input).resolve():
            raise UserError(f"--output {args.output} is the --input file; writing would erase it before it is read")
        check_file(args.output, "--output", "parse results")
    model = malmoi.load(args.model_dir)
    if args.text is not None:
        print(json.dumps(model.parse(args.text).to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115 - closed below
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
        evaluation = evaluate(model, data.examples, data.ood)
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


def _compare(args: argparse.Namespace) -> int:
    from malmoi.report import ReportError, compare, format_comparison, read_report

    if args.examples < 0:
        raise UserError("--examples must be 0 or more")
    if args.json_out:
        check_file(args.json_out, "--json")
    try:
        result = compare(read_report(args.report_a), read_report(args.report_b))
    except ReportError as exc:
        raise UserError(str(exc)) from None
    print(format_comparison(result, examples=args.examples))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(marked(result), ensure_ascii=False, indent=2), "utf-8")
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


def _serve(args: argparse.Namespace) -> int:
    try:
        from malmoi.serve._server import (
            check_model,
            default_allowed_hosts,
            load_scenarios,
            run,
        )
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    from malmoi.dialogue.scenarios import ScenarioError

    if args.registry is not None:
        return _serve_registry(args)
    if args.ray or args.ray_address or args.replicas != 1:
        raise UserError("--ray, --replicas and --ray-address serve a registry: add --registry DIR")
    if args.model_dir is None:
        raise UserError("give the model to serve (`malmoi serve MODEL_DIR`), or a registry (`--registry DIR`)")
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port} is not a TCP port (0-65535)")
    if not args.read_timeout > 0 or args.keep_alive_timeout < 1:
        raise UserError("--read-timeout and --keep-alive-timeout must be positive numbers of seconds")
    allowed_hosts = args.allowed_host
    if allowed_hosts is not None:
        allowed_hosts = [*default_allowed_hosts(args.host), *allowed_hosts]
        if any(not h.strip() or any(c.isspace() or c in "/,@" for c in h) for h in allowed_hosts):
            raise UserError("--allowed-host takes a host name or address, like example.com, 10.0.0.5 or *.example.com")
    try:
        bot = check_model(args.model_dir, load_scenarios(args.scenarios), args.database_url)
    except ScenarioError as exc:
        raise UserError(f"{args.model_dir}: {exc}") from exc
    except (ImportError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    except Exception as exc:  # a database that cannot be reached, a bad URL
        if type(exc).__module__.startswith("sqlalchemy"):
            raise UserError(f"cannot use the database {args.database_url or 'malmoi-state.sqlite3'}: {exc}") from exc
        raise
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    ready = f"Serving '{bot}' on http://{shown}:{args.port}/ (API docs: /docs). Ctrl-C stops it."
    ready += " No API keys: any client that reaches the port can use the bot and its conversations."
    if args.host in ("0.0.0.0", "::") and args.allowed_host is None:
        ready += (" Listening on every interface, but only requests addressed to localhost are answered: "
                  "add --allowed-host NAME for each name or address that clients use.")
    # Loads the model before binding the port: a model that cannot load is a ModelLoadError,
    # which main() prints in one line with exit status 2.
    run(args.model_dir, host=args.host, port=args.port, database_url=args.database_url,
        workers=args.workers, scenarios=args.scenarios, access_log=args.access_log,
        allowed_hosts=allowed_hosts, read_timeout=args.read_timeout,
        keep_alive_timeout=args.keep_alive_timeout, ready_message=ready, review_data=_review_option(args),
        forwarded_allow_ips=args.forwarded_allow_ips)
    return EXIT_OK


def _review_option(args: argparse.Namespace) -> str | None:
    """``--review-data`` (one bot) or ``--review-dir`` (registry), checked before the server starts."""
    wrong = "--review-data" if args.registry is not None else "--review-dir"
    if (args.review_dir if args.registry is None else args.review_data) is not None:
        raise UserError(f"{wrong} does not go with {'--registry' if args.registry else 'one model'}: use "
                        f"{'--review-dir DIR (DIR/<bot> per bot)' if args.registry else '--review-data BOT_DIR'}")
    folder = args.review_dir if args.registry is not None else args.review_data
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise UserError(f"{folder}: no such folder")
    if args.registry is None and not (Path(folder) / "bot.yaml").is_file():
        raise UserError(f"--review-data {folder} is not a bot directory (no bot.yaml); give the folder the model "
                        "was trained from")
    return str(folder)


# -- many bots: publish | versions | rollback | keys, and serve --registry (docs/bots.md) ----------


def _add_bots_commands(commands: Any) -> None:
    def registry_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--registry", help="the registry folder (default: $MALMOI_REGISTRY, else ./registry)")

    p = commands.add_parser("publish", help="check a model completely and store it as the bot's next version")
    p.add_argument("model_dir")
    p.add_argument("--bot", required=True, help="the bot's name in the registry (lower-case letters, digits, - _)")
    p.add_argument("--data", help="the bot directory it was trained from: snapshotted so the version can be rebuilt")
    p.add_argument("--no-activate", action="store_true", help="store the version without making it live")
    p.add_argument("--force", action="store_true",
                   help="publish a model whose files are those of an existing version of the bot as a new version")
    registry_option(p)
    p.set_defaults(func=_publish)

    p = commands.add_parser("versions", help="list a bot's published versions with their training metrics")
    p.add_argument("--bot", required=True)
    p.add_argument("--json", action="store_true", help="print JSON")
    registry_option(p)
    p.set_defaults(func=_versions)

    p = commands.add_parser("rollback", help="make the bot's previous live version live again")
    p.add_argument("--bot", required=True)
    p.add_argument("--to", metavar="VERSION", help="make this version live instead (e.g. v000002)")
    registry_option(p)
    p.set_defaults(func=_rollback)

    p = commands.add_parser("keys", help="API keys of a registry's server: create | list | revoke")
    actions = p.add_subparsers(dest="action", required=True)
    k = actions.add_parser("create", help="a new key for one bot (--bot) or for all and the statistics (--admin)")
    k.add_argument("--bot")
    k.add_argument("--admin", action="store_true")
    registry_option(k)
    k.set_defaults(func=_keys_create)
    k = actions.add_parser("list", help="the keys (ids and bots, never the keys themselves)")
    registry_option(k)
    k.set_defaults(func=_keys_list)
    k = actions.add_parser("revoke", help="delete a key by its id")
    k.add_argument("key_id")
    registry_option(k)
    k.set_defaults(func=_keys_revoke)


def _registry(args: argparse.Namespace) -> Any:
    from malmoi.bots import Registry

    return Registry(args.registry) if args.registry else Registry(Registry.default_root())


def _bots_errors(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from malmoi.bots import RegistryError

        try:
            result: int = func(args)
            return result
        except RegistryError as exc:
            raise UserError(str(exc)) from exc

    return run


@_bots_errors
def _publish(args: argparse.Namespace) -> int:
    registry = _registry(args)
    info = registry.publish(args.model_dir, bot=args.bot, data=args.data, activate=not args.no_activate,
                            allow_identical=args.force)
    activate = f"malmoi rollback --bot {args.bot} --to {info.version}"
    state = "live" if info.live else f"stored, not live (make it live: {activate})"
    print(f"published {args.bot} {info.version} to {registry.root} ({state})")
    if info.identical_to:
        print(f"note: {info.version} is the same model as {info.identical_to} (--force)", file=sys.stderr)
    if info.snapshot is None:
        print("note: published without --data: this version cannot be rebuilt from the registry", file=sys.stderr)
    return EXIT_OK


@_bots_errors
def _versions(args: argparse.Namespace) -> int:
    registry = _registry(args)
    versions = registry.versions(args.bot)
    if not versions:
        raise UserError(f"{args.bot} has no versions in {registry.root}; publish one with "
                        f"`malmoi publish MODEL_DIR --bot {args.bot}`")
    if args.json:
        print(json.dumps([{**v.__dict__, "path": str(v.path)} for v in versions], ensure_ascii=False, indent=1))
        return EXIT_OK
    print(f"{'':2}{'version':<9} {'published':<21} {'intents':>7} {'accuracy':>9} {'entity F1':>9}  data")
    for v in versions:
        accuracy, f1 = v.metrics.get("intent_accuracy"), v.metrics.get("entity_f1")
        print(f"{'*' if v.live else ' ':2}{v.version:<9} {v.published_at:<21} {v.intents:>7} "
              f"{'-' if accuracy is None else f'{accuracy:.4f}':>9} {'-' if f1 is None else f'{f1:.4f}':>9}  "
              f"{'snapshot ' + v.snapshot[:12] if v.snapshot else 'none'}")
    print("* live; accuracy and entity F1 on the held-out validation split of training")
    return EXIT_OK


@_bots_errors
def _rollback(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if args.to is not None:  # also repairs a damaged LIVE, which it does not need to read
        switch = registry.activate(args.bot, args.to)
        before, now = switch.was, switch.live
        if switch.repaired:
            print(f"note: {args.bot}'s LIVE file was damaged and is replaced; its rollback history is lost",
                  file=sys.stderr)
    else:
        before = registry.live_version(args.bot)
        now = registry.rollback(args.bot)
    print(f"{args.bot}: {now} is live (was {before})")
    return EXIT_OK


@_bots_errors
def _keys_create(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore

    key, record = KeyStore(_registry(args)).create(bot=args.bot, admin=args.admin)
    what = "every bot and /v1/stats" if record.admin else f"the bot {record.bot}"
    print(key)
    print(f"key {record.id} for {what}; shown once, stored only hashed. Clients send: "
          "Authorization: Bearer <key>", file=sys.stderr)
    return EXIT_OK


@_bots_errors
def _keys_list(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore

    for key in KeyStore(_registry(args)).list():
        print(f"{key.id}  {'admin' if key.admin else 'bot ' + str(key.bot)}  created {key.created_at}")
    return EXIT_OK


@_bots_errors
def _keys_revoke(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore

    key = KeyStore(_registry(args)).revoke(args.key_id)
    print(f"revoked {key.id} ({'admin' if key.admin else 'bot ' + str(key.bot)})")
    return EXIT_OK


@_bots_errors
def _serve_registry(args: argparse.Namespace) -> int:
    from malmoi.bots import KeyStore, Registry

    if args.model_dir is not None:
        raise UserError("give a model to serve or --registry DIR, not both")
    if not args.ray and (args.replicas != 1 or args.ray_address):
        raise UserError("--replicas and --ray-address are options of --ray: add --ray")
    if args.ray and args.forwarded_allow_ips:
        raise UserError("--forwarded-allow-ips is not used on Ray: Ray Serve's own proxy receives the requests")
    if args.workers != 1:
        raise UserError("--registry serves from one process (its bot cache is per process); drop --workers")
    if not args.cache_mb > 0:
        raise UserError("--cache-mb must be a positive number of megabytes")
    registry = Registry(args.registry)
    bots = registry.bots()
    if not bots:
        raise UserError(f"{args.registry} has no published bots; publish one with "
                        f"`malmoi publish MODEL_DIR --bot NAME --registry {args.registry}`")
    require_keys = not args.no_keys
    if require_keys and not KeyStore(registry).any():
        raise UserError(f"{args.registry} has no API keys: create one with `malmoi keys create --bot NAME "
                        f"--registry {args.registry}`, or serve without keys with --no-keys")
    from malmoi.serve._server import run_bots

    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    access = ("API keys required (Authorization: Bearer <key>)" if require_keys else
              "no API keys (--no-keys): any client that reaches the port can use every bot")
    ready = (f"Serving {len(bots)} bots of {args.registry} on http://{shown}:{args.port}/v1/bots/{{bot}}/parse "
             f"and /chat; {access}; cache {args.cache_mb:g} MB. Ctrl-C stops it.")
    allowed_hosts = None if args.allowed_host is None else [*_default_hosts(args.host), *args.allowed_host]
    if args.ray and args.review_dir is not None:
        raise UserError("--review-dir is not served on Ray: serve the review page from a second process, "
                        f"`malmoi serve --registry {args.registry} --review-dir {args.review_dir} --port OTHER`")
    if args.ray:
        return _serve_ray(args, ready, require_keys=require_keys, allowed_hosts=allowed_hosts)
    run_bots(args.registry, host=args.host, port=args.port, database_url=args.database_url,
             cache_bytes=int(args.cache_mb * 1024 * 1024), require_keys=require_keys, access_log=args.access_log,
             allowed_hosts=allowed_hosts, read_timeout=args.read_timeout,
             keep_alive_timeout=args.keep_alive_timeout, ready_message=ready, review_dir=_review_option(args),
             forwarded_allow_ips=args.forwarded_allow_ips)
    return EXIT_OK


def _serve_ray(args: argparse.Namespace, ready: str, *, require_keys: bool, allowed_hosts: list[str] | None) -> int:
    if args.replicas < 1:
        raise UserError("--replicas must be at least 1")
    try:
        from malmoi.serve.ray_app import run_ray
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    where = f"the Ray cluster at {args.ray_address}" if args.ray_address else "a Ray instance started on this machine"
    run_ray(args.registry, address=args.ray_address, host=args.host, port=args.port,
            ready_message=f"{ready} On Ray Serve: {args.replicas} replica(s) on {where}; the cache is per replica.",
            replicas=args.replicas, cache_bytes=int(args.cache_mb * 1024 * 1024), database_url=args.database_url,
            require_keys=require_keys, read_timeout=args.read_timeout,
            allowed_hosts=_default_hosts(args.host) if allowed_hosts is None else allowed_hosts)
    return EXIT_OK


def _default_hosts(host: str) -> list[str]:
    from malmoi.serve._server import default_allowed_hosts

    return default_allowed_hosts(host)
def _clean(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from malmoi.clean import CleanSettings, find_label_issues
    from malmoi.clean.files import apply_suspects, check_report_files, load_for_cleaning, write_report

    if not Path(args.bot_dir).is_dir():
        raise UserError(f"{args.bot_dir}: no such bot directory (expected bot.yaml and data/intents/)")
    out = Path(args.out) if args.out else Path(args.bot_dir) / "clean"
    _check_output_dir(out, "--out")
    check_report_files(out, entities=args.entities is not False)
    try:
        settings = CleanSettings(rounds=args.rounds, splits=args.splits, folds=args.folds, workers=args.workers,
                                 threshold=args.threshold, seed=args.seed, ray_address=args.ray_address)
    except ValidationError as exc:
        problems = "; ".join(f"--{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UserError(problems) from None
    if not 0.0 <= args.confident <= 1.0:
        raise UserError(f"--confident: a probability from 0 to 1 is expected, got {args.confident}")
    config, examples, conflicts = load_for_cleaning(args.bot_dir)
    print(f"Checking {len(examples)} utterances of '{config.name}' ({conflicts} conflicting copies): "
          f"{settings.splits} splits x {settings.folds} folds a round, at most {settings.rounds} rounds, "
          + (f"Ray tasks at {settings.ray_address}." if settings.ray_address else f"{settings.workers} process(es)."),
          file=sys.stderr)
    try:
        result = find_label_issues(examples, config.language, settings, progress=lambda m: print(m, file=sys.stderr))
    except ValueError as exc:
        raise UserError(f"{args.bot_dir}: {exc}") from None
    except ImportError as exc:  # --ray-address without ray
        raise UserError(str(exc)) from None
    csv_path, json_path = write_report(result, out)
    shown = result.suspects[: max(args.show, 0)]
    if shown:
        print(format_suspects(shown))
    print(f"{len(result.suspects)} suspect(s) of {len(examples)} in {result.seconds['total']} s; "
          f"all listed in {csv_path} and {json_path}.", file=sys.stderr)
    _clean_entities(args, examples, config.language, out)
    if not args.apply:
        if result.suspects:
            print("Nothing was changed. Review the list, then `malmoi clean BOT_DIR --apply` moves each suspect "
                  "with a confident suggestion to it and sets the others aside (with a backup and a diff).",
                  file=sys.stderr)
        return EXIT_OK
    changes = apply_suspects(args.bot_dir, result.suspects, out, confident=args.confident)
    for suspect, why in changes.skipped:
        print(f"{suspect.source}: not changed: {why}", file=sys.stderr)
    if changes.diff is None:
        print("No file changed.", file=sys.stderr)
        return EXIT_OK
    print(f"Moved {len(changes.moved)} utterance(s) to their suggested intent, deleted {len(changes.removed)} "
          f"conflicting copies; originals in {changes.backup}, changes in {changes.diff}.", file=sys.stderr)
    if changes.set_aside:
        print(f"Set aside {len(changes.set_aside)} suspect(s) whose suggestion is below --confident "
              f"{args.confident} (out of the training data) in {changes.set_aside_dir}: put back or move what "
              "you judge right.", file=sys.stderr)
    return EXIT_OK


# -- the review loop: review | retrain (docs/review.md) -------------------------------------------

EXIT_REFUSED = 3  # `malmoi retrain`: the candidate regresses, nothing was published


def _add_review_commands(commands: Any) -> None:
    p = commands.add_parser("review", help="messages the bot fell back on or was unsure of: list them grouped, "
                            "answer them into the bot's data")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)

    def common(r: argparse.ArgumentParser) -> None:
        r.add_argument("bot_dir", help="the bot directory the bot is trained from: answers go into its data/")
        r.add_argument("--database-url", help="the server's message log (its --database-url; default "
                       "sqlite:///malmoi-state.sqlite3)")
        r.add_argument("--model", help="the model that parses the messages again (for its guesses); or --registry")
        r.add_argument("--registry", help="use the live version of --bot in this registry as the model")
        r.add_argument("--bot", help="the bot's name in the message log (default: the model's bot name)")

    r = actions.add_parser("list", help="list the messages to review, grouped by similarity, with the model's guesses")
    common(r)
    r.add_argument("--below", type=float, default=0.5,
                   help="also list messages answered with a confidence under this (default 0.5); fallbacks always")
    r.add_argument("--similarity", type=float, default=0.6,
                   help="cosine of sentence vectors from which messages share a group (default 0.6)")
    r.add_argument("--limit", type=int, default=2000, help="newest logged messages read (default 2000)")
    r.add_argument("--json", action="store_true", help="print the groups as JSON")
    r.set_defaults(func=_review_list)

    r = actions.add_parser("answer", help="answer messages: an intent (with entities) or out of domain")
    common(r)
    r.add_argument("--message", action="append", required=True, metavar="ID",
                   help="message id(s) from `malmoi review list`, repeatable or comma-separated (one text)")
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("--intent", help="the intent the message(s) should have")
    what.add_argument("--ood", action="store_true", help="out of domain: the bot should fall back")
    r.add_argument("--entities", metavar="MARKUP", help="the text with entities marked: '내일 [부산](LOCATION) 날씨'")
    r.add_argument("--reviewer", default=os.environ.get("USER") or "cli", help="who answers (default $USER)")
    r.set_defaults(func=_review_answer)

    r = actions.add_parser("log", help="every answer written so far, with its provenance")
    r.add_argument("bot_dir")
    r.set_defaults(func=_review_log)

    p = commands.add_parser("retrain", help="train from the bot's data, compare with the live version on its test "
                            "data, publish only if nothing regresses")
    p.add_argument("bot_dir")
    p.add_argument("--registry", help="the registry folder (default: $MALMOI_REGISTRY, else ./registry)")
    p.add_argument("--bot", required=True, help="the bot's name in the registry")
    p.add_argument("--test", help="bot directory of held-out test utterances (default: BOT_DIR/test)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="how much worse any figure may get, absolute (default 0.01)")
    p.add_argument("--min-support", type=int, default=20,
                   help="test utterances an intent needs for its own F1 to be checked (default 20)")
    p.add_argument("--out", help="folder for the candidate, reports and decision (default: "
                   "REGISTRY/candidates/BOT/<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_retrain)


def _review_errors(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from malmoi.bots import RegistryError
        from malmoi.review import ReviewError

        try:
            result: int = func(args)
            return result
        except (ReviewError, RegistryError) as exc:
            raise UserError(str(exc)) from exc

    return run


def _review_setup(args: argparse.Namespace) -> tuple[Any, Any, str, Any]:
    """The model, the message log, the bot's name in it and the bot directory's answers."""
    from malmoi.review import ReviewLedger

    ledger = ReviewLedger(args.bot_dir)
    if (args.model is None) == (args.registry is None):
        raise UserError("give the model that parses the messages: --model MODEL_DIR, or --registry DIR --bot NAME")
    if args.registry is not None:
        if not args.bot:
            raise UserError("--registry needs --bot NAME")
        live = _registry(args).live_path(args.bot)
        if live is None:
            raise UserError(f"{args.bot} is not published in {args.registry}")
        model_dir = live[1]
    else:
        model_dir = args.model
    import malmoi

    model = malmoi.load(model_dir)
    bot = args.bot or model.config.name
    try:
        from malmoi.dialogue.store import StateStore

        store = StateStore(args.database_url)
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    except Exception as exc:  # a bad URL, a database that cannot be reached
        if type(exc).__module__.startswith("sqlalchemy"):
            raise UserError(f"cannot use the database {args.database_url or 'malmoi-state.sqlite3'}: {exc}") from exc
        raise
    return model, store, bot, ledger


@_review_errors
def _review_list(args: argparse.Namespace) -> int:
    from malmoi.review import review_groups

    if not 0 < args.similarity <= 1:
        raise UserError("--similarity is a cosine between 0 and 1")
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    model, store, bot, ledger = _review_setup(args)
    try:
        groups = review_groups(store, model, bot=bot, ledger=ledger, below=args.below, similarity=args.similarity,
                               limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], ensure_ascii=False, indent=1))
        return EXIT_OK
    if not groups:
        print(f"Nothing to review for {bot}: no unreviewed message fell back or was under {args.below}.")
        return EXIT_OK
    for group in groups:
        guesses = ", ".join(f"{g.intent} {g.confidence:.2f}" for g in group.guesses)
        print(f"group {group.id}: {group.messages} message(s); guesses {guesses}")
        for item in group.items:
            p = item.pending
            ids = ",".join(map(str, p.message_ids[:8])) + (",..." if len(p.message_ids) > 8 else "")
            answered = "fallback" if p.fallback else f"{p.logged_intent} {p.logged_confidence:.2f}"
            top = ", ".join(f"{g.intent} {g.confidence:.2f}" for g in item.guesses)
            print(f"  [{ids}] {item.markup}   (answered {answered}; now {top})")
    total = sum(g.messages for g in groups)
    print(f"\n{total} message(s) in {sum(len(g.items) for g in groups)} text(s), {len(groups)} group(s). Answer with "
          f"`malmoi review answer {args.bot_dir} --message ID --intent NAME` (or --ood).", file=sys.stderr)
    return EXIT_OK


@_review_errors
def _review_answer(args: argparse.Namespace) -> int:
    from malmoi.review import answers_from_requests

    try:
        ids = [int(i) for part in args.message for i in part.split(",") if i.strip()]
    except ValueError:
        raise UserError("--message takes message ids (numbers) from `malmoi review list`") from None
    if args.ood and args.entities:
        raise UserError("--entities goes with --intent; an out-of-domain message has no entities")
    model, store, bot, ledger = _review_setup(args)
    try:
        request = {"message_ids": ids, "intent": args.intent, "out_of_domain": args.ood, "markup": args.entities}
        answers = answers_from_requests(store, model, bot, [request], reviewer=f"cli:{args.reviewer}")
    finally:
        store.close()
    written = ledger.record(answers)
    for answer in answers:
        what = "out of domain" if answer.out_of_domain else f"intent {answer.intent}: {answer.markup}"
        print(f"{answer.text!r} -> {what}")
    shown = ", ".join(str(p) for p in written) or "no data file changed"
    print(f"written: {shown}; recorded in {ledger.path}", file=sys.stderr)
    return EXIT_OK


@_review_errors
def _review_log(args: argparse.Namespace) -> int:
    from malmoi.review import ReviewLedger

    ledger = ReviewLedger(args.bot_dir)
    answers = ledger.answers()
    for a in answers:
        what = "out of domain" if a.out_of_domain else f"{a.intent}: {a.markup}"
        print(f"{a.reviewed_at}  {a.reviewer}  messages {','.join(map(str, a.message_ids))}  "
              f"model {a.model_version}  {what}")
    print(f"{len(answers)} answer(s) in {ledger.path}", file=sys.stderr)
    return EXIT_OK


@_review_errors
def _retrain(args: argparse.Namespace) -> int:
    from malmoi.review import retrain

    if args.tolerance < 0:
        raise UserError("--tolerance must be 0 or more")
    if args.min_support < 1:
        raise UserError("--min-support must be at least 1")
    if args.out:
        check_folder(args.out, "retrain run", "--out")
    if not (Path(args.bot_dir) / "bot.yaml").is_file():
        raise UserError(f"{args.bot_dir} is not a bot directory (no bot.yaml)")
    registry = _registry(args)
    result = retrain(args.bot_dir, registry=registry, bot=args.bot, test_dir=args.test, tolerance=args.tolerance,
                     min_support=args.min_support, run_dir=args.out, progress=not args.quiet,
                     say=lambda message: print(message, file=sys.stderr))
    if result.comparison:
        print(result.comparison)
        print()
    for check in result.checks:
        print(f"{'REGRESSED' if check.regressed else 'ok':9}  {check}")
    if result.refused:
        print(f"error: refused: the candidate is worse than the live version {result.live_version} beyond the "
              f"tolerance on {len(result.refused)} figure(s): " + "; ".join(str(c) for c in result.refused)
              + f". Nothing was published; {result.bot} stays on {result.live_version}. The candidate, both reports "
              f"and the comparison are in {result.run_dir}.", file=sys.stderr)
        return EXIT_REFUSED
    before = f" (was {result.live_version})" if result.live_version else " (its first version)"
    print(f"published {result.bot} {result.published}{before}; candidate, reports and comparison in "
          f"{result.run_dir}", file=sys.stderr)
    return EXIT_OK


def format_suspects(suspects: list[Any]) -> str:
    from malmoi.evaluate import format_table

    rows = [{"rank": s.rank, "p_wrong": round(s.p_wrong, 3), "given": s.given, "suggested": s.suggested,
             "checked": s.times_checked, "text": s.text, "source": s.source} for s in suspects]
    return format_table(rows, ["rank", "p_wrong", "given", "suggested", "checked", "text", "source"])


def _clean_entities(args: argparse.Namespace, examples: list[Any], language: str, out: Path) -> None:
    """``malmoi clean --entities``: entity tags in doubt, reported beside the intent suspects."""
    from malmoi.clean.entities import find_entity_issues
    from malmoi.clean.files import write_entity_report
    from malmoi.evaluate import format_table

    has_entities = any(e.entities for e in examples)
    if args.entities is False or (args.entities is None and not has_entities):
        return
    if not has_entities:
        raise UserError(f"{args.bot_dir}: --entities: no utterance has an entity, so there are no entity tags to check")
    result = find_entity_issues(examples, language, threshold=args.threshold, seed=args.seed,
                                progress=lambda m: print(m, file=sys.stderr))
    csv_path, json_path = write_entity_report(result, out)
    rows = [{"rank": s.rank, "p_wrong": round(s.p_wrong, 3), "kinds": "; ".join(s.kinds), "text": s.text,
             "given": " ".join(f"[{e.value}]({e.type})" for e in s.given),
             "suggested": " ".join(f"[{e.value}]({e.type})" for e in s.suggested), "source": s.source}
            for s in result.suspects[: max(args.show, 0)]]
    if rows:
        print(format_table(rows, ["rank", "p_wrong", "kinds", "text", "given", "suggested", "source"]))
    print(f"{len(result.suspects)} entity suspect(s) in {result.seconds:.1f} s; all listed in {csv_path} and "
          f"{json_path} (never applied: fix the tags by hand).", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
