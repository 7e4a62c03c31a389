"""``malmoi clean BOT_DIR``: find mislabelled utterances with cross-validated checkers (PICO) and, with
``--apply``, move them; ``--entities`` also checks entity tags (docs/cleaning.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from malmoi.cli._common import EXIT_OK, Commands, UserError, check_output_dir


def add_parser(commands: Commands) -> None:
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from malmoi.clean import CleanSettings, find_label_issues
    from malmoi.clean.files import apply_suspects, check_report_files, load_for_cleaning, write_report

    if not Path(args.bot_dir).is_dir():
        raise UserError(f"{args.bot_dir}: no such bot directory (expected bot.yaml and data/intents/)")
    out = Path(args.out) if args.out else Path(args.bot_dir) / "clean"
    check_output_dir(out, "--out")
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
