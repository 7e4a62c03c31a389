"""``malmoi import FORMAT PATH --out BOT_DIR``: a bot directory from SNIPS/ATIS, CLINC150 or Kochat data."""

from __future__ import annotations

import argparse
import sys

from malmoi.cli._common import EXIT_OK, Commands, UserError, print_problems


def add_parser(commands: Commands) -> None:
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
        print_problems(data.left_out)
    if result.notes:
        print(f"{len(result.notes)} change(s) to the source data, so that malmoi can load it:", file=sys.stderr)
        print_problems(result.notes)
    listed = f" (listed in {result.bot_dir / NOTES_FILE})" if data.left_out or result.notes else ""
    print(f"Imported {len(data.examples)} utterances into {result.bot_dir}: {len(data.intents)} intents, "
          f"{len(data.entity_types)} entity types, {len(data.ood)} out-of-domain{listed}. "
          f"Next: `malmoi train {result.bot_dir}`.")
    return EXIT_OK
