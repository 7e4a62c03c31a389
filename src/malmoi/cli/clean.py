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
    p.add_argument("--apply", nargs="?", const=True, default=False, metavar="SUSPECTS_JSON",
                   help="change the data as the suspects' decisions say: alone, after the analysis, move confident "
                   "suspects to their suggestion, keep those between overlapping intents and set the others aside "
                   "(see --confident); with a suspects.json you reviewed (its `decision` per row: move, set_aside, "
                   "keep), apply that list without analysing again (backup and diff in --out)")
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
    from malmoi.clean.decisions import propose
    from malmoi.clean.files import check_report_files, load_for_cleaning, write_report

    if not Path(args.bot_dir).is_dir():
        raise UserError(f"{args.bot_dir}: no such bot directory (expected bot.yaml and data/intents/)")
    out = Path(args.out) if args.out else Path(args.bot_dir) / "clean"
    check_output_dir(out, "--out")
    if not 0.0 <= args.confident <= 1.0:
        raise UserError(f"--confident: a probability from 0 to 1 is expected, got {args.confident}")
    if isinstance(args.apply, str):
        return _apply_reviewed(args, Path(args.apply), out)
    check_report_files(out, entities=args.entities is not False)
    try:
        settings = CleanSettings(rounds=args.rounds, splits=args.splits, folds=args.folds, workers=args.workers,
                                 threshold=args.threshold, seed=args.seed, ray_address=args.ray_address)
    except ValidationError as exc:
        problems = "; ".join(f"--{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UserError(problems) from None
    config, examples, conflicts = load_for_cleaning(args.bot_dir)
    print(f"Checking {len(examples)} utterances of '{config.name}' ({conflicts} conflicting copies): "
          f"{settings.splits} splits x {settings.folds} folds a round, at most {settings.rounds} rounds, "
          + (f"Ray tasks at {settings.ray_address}." if settings.ray_address else f"{settings.workers} process(es)."),
          file=sys.stderr)
    with _CheckerBar() as bar:
        try:
            result = find_label_issues(examples, config.language, settings, progress=bar.write,
                                       on_checker=bar.update)
        except ValueError as exc:
            raise UserError(f"{args.bot_dir}: {exc}") from None
        except ImportError as exc:  # --ray-address without ray
            raise UserError(str(exc)) from None
    csv_path, json_path = write_report(result, out, confident=args.confident)
    shown = result.suspects[: max(args.show, 0)]
    if shown:
        print(format_suspects(shown, Path(args.bot_dir)))
    print(f"{len(result.suspects)} suspect(s) of {len(examples)} in {result.seconds['total']} s; "
          f"all listed in {csv_path} and {json_path}.", file=sys.stderr)
    _print_overlaps(result.suspects, args.confident)
    _clean_entities(args, examples, config.language, out)
    if not args.apply:
        if result.suspects:
            print(f"Nothing was changed. Review the list: `malmoi clean {args.bot_dir} --apply` applies the proposed "
                  f"decisions; edit `decision` (move, set_aside, keep) and `suggested` in {json_path}, then "
                  f"`malmoi clean {args.bot_dir} --apply {json_path}` applies yours.", file=sys.stderr)
        return EXIT_OK
    return _apply(args, propose(result.suspects, args.confident), out)


def _apply_reviewed(args: argparse.Namespace, reviewed: Path, out: Path) -> int:
    """``--apply suspects.json``: the decisions a person reviewed, applied without a new analysis."""
    from malmoi.clean.decisions import SuspectsFileError, read_reviewed

    if not reviewed.is_file():
        raise UserError(f"--apply {reviewed}: no such file; give the suspects.json that `malmoi clean` wrote")
    intents_dir = Path(args.bot_dir) / "data" / "intents"
    intents = sorted(p.stem for p in intents_dir.iterdir() if p.suffix.lower() in (".csv", ".yml", ".yaml")) \
        if intents_dir.is_dir() else []
    try:
        decisions = read_reviewed(reviewed, intents)
    except SuspectsFileError as exc:
        raise UserError(str(exc)) from None
    print(f"Applying {len(decisions)} reviewed decision(s) from {reviewed} (no new analysis).", file=sys.stderr)
    return _apply(args, decisions, out)


def _apply(args: argparse.Namespace, decisions: list[Any], out: Path) -> int:
    from malmoi.clean.files import apply_decisions

    changes = apply_decisions(args.bot_dir, decisions, out)
    for suspect, why in changes.skipped:
        print(f"{suspect.source}: not changed: {why}", file=sys.stderr)
    if changes.kept:
        print(f"Kept {len(changes.kept)} suspect(s) where they are (decided `keep`).", file=sys.stderr)
    if changes.diff is None:
        print("No file changed.", file=sys.stderr)
        return EXIT_OK
    print(f"Moved {len(changes.moved)} utterance(s) to their suggested intent, deleted {len(changes.removed)} "
          f"conflicting copies; originals in {changes.backup}, changes in {changes.diff} (`patch -R -p1 < DIFF` "
          f"in {args.bot_dir} undoes them).", file=sys.stderr)
    if changes.set_aside:
        print(f"Set aside {len(changes.set_aside)} suspect(s) (out of the training data) in "
              f"{changes.set_aside_file}: put back or move what you judge right.", file=sys.stderr)
    _say_what_validation_means(Path(args.bot_dir))
    return EXIT_OK


def _say_what_validation_means(bot_dir: Path) -> None:
    """After cleaning, the validation share of `malmoi train` is drawn from the cleaned labels and
    looks better than the model is: say where the honest figure comes from."""
    test_dir = bot_dir / "test"
    if test_dir.is_dir() and any(test_dir.iterdir()):
        print(f"Measure what cleaning did on the held-out {test_dir} (never cleaned): `malmoi test MODEL {bot_dir}` "
              "before and after retraining; training's validation figures now use cleaned labels and read high.",
              file=sys.stderr)
    else:
        print(f"{bot_dir} has no held-out test/ folder: training's validation figures will use the cleaned labels "
              f"and read higher than the model is. Keep a test set apart (`malmoi split`) to measure cleaning.",
              file=sys.stderr)


def _print_overlaps(suspects: list[Any], confident: float) -> None:
    from malmoi.clean.decisions import find_overlaps

    for overlap in find_overlaps(suspects, confident):
        a, b = overlap.intents
        example = overlap.suspects[0]
        print(f"Intents `{a}` and `{b}` overlap: {len(overlap.suspects)} utterance(s) lean each way (e.g. "
              f"`{_cut(example.text, 30)}`). They are kept as they are: merge the two intents, or add utterances "
              "that show what separates them.", file=sys.stderr)


class _CheckerBar:
    """A progress bar over each round's checkers (on a terminal; silent elsewhere), with the round lines."""

    def __enter__(self) -> _CheckerBar:
        self._bar: Any = None
        return self

    def update(self, round_: int, checkers: int) -> None:
        from tqdm.auto import tqdm

        if checkers:  # a round starts
            self.close()
            self._bar = tqdm(total=checkers, desc=f"round {round_}", unit="checker", file=sys.stderr,
                             disable=None, leave=False)
        elif self._bar is not None:
            self._bar.update(1)

    def write(self, message: str) -> None:
        self.close()
        print(message, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __exit__(self, *exc: object) -> None:
        self.close()


TABLE_WIDTH = 100  # a terminal's columns the suspects table fits in


def format_suspects(suspects: list[Any], bot_dir: Path, width: int = TABLE_WIDTH) -> str:
    """The suspects as a table that fits ``width`` columns: long intent names and texts cut (Korean
    counted as two columns), sources relative to the bot's intents folder."""
    from malmoi.evaluate import format_table, text_width

    rows = [{"rank": s.rank, "p_wrong": f"{s.p_wrong:.3f}", "given": _cut(s.given, 16),
             "suggested": _cut(s.suggested, 16), "p_sugg": f"{s.p_suggested:.2f}",
             "source": _cut(_short_source(s.source, bot_dir), 22), "text": s.text} for s in suspects]
    columns = ["rank", "p_wrong", "given", "suggested", "p_sugg", "source", "text"]
    fixed = sum(max(text_width(c), *(text_width(str(r[c])) for r in rows)) + 2 for c in columns[:-1])
    room = max(width - fixed, 12)
    for r in rows:
        r["text"] = _cut(r["text"], room)
    return format_table(rows, columns)


def _short_source(source: str, bot_dir: Path) -> str:
    file, _, line = source.rpartition(":")
    path = Path(file)
    for base in (bot_dir / "data" / "intents", bot_dir):
        try:
            return f"{path.resolve().relative_to(base.resolve()).as_posix()}:{line}"
        except ValueError:
            continue
    return f"{path.name}:{line}"


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, with "…" where it was cut."""
    from malmoi.evaluate import text_width

    if text_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = text_width(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


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
