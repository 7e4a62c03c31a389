"""``malmoi train BOT_DIR``: train a model from a bot directory, optionally logged to TensorBoard or MLflow."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from pathlib import Path
from typing import Any

from malmoi.cli._common import EXIT_OK, Commands, UserError, check_output_dir, print_problems
from malmoi.outputs import check_folder

# Characters that cannot be in a folder name on some system, and control characters.
_UNSAFE_NAME_RE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def add_parser(commands: Commands) -> None:
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import malmoi
    from malmoi.data import load_bot

    if args.out:
        check_folder(args.out, "model", "--out")
    if args.tensorboard:
        from malmoi.tracking import tensorboard_available

        check_output_dir(args.tensorboard, "--tensorboard")
        if not tensorboard_available():
            raise UserError("--tensorboard needs the tensorboard package: pip install 'malmoi[tensorboard]'")
    mlflow_uri = _mlflow_uri(args)
    config, data = load_bot(args.bot_dir, skip_invalid=args.skip_invalid)
    out = Path(args.out) if args.out else _default_model_dir(config.name)
    if data.left_out:
        rows = len({(p.file, p.line) for p in data.left_out})
        print(f"Left out {rows} utterance(s) with errors (--skip-invalid):", file=sys.stderr)
        print_problems(data.left_out)
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
    floor = report.get("floor")
    if floor and floor.get("held_out", {}).get("top1"):
        top1 = floor["held_out"]["top1"]
        print(f"Linear floor: held-out top-1 {top1['floor']:.4f}, neural head {top1['neural']:.4f}, blend "
              f"{top1['blend']:.4f}; the fallback thresholds the {floor['in_domain'].replace('_', ' ')} score.")
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
