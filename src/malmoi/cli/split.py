"""``malmoi split BOT_DIR --test 0.2 --out DIR``: a stratified, seeded held-out split of a bot's data."""

from __future__ import annotations

import argparse
import sys

from malmoi.cli._common import EXIT_OK, Commands, UserError, print_problems


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("split", help="hold out a share of every intent: DIR trains, DIR/test tests "
                            "(as retrain reads it)")
    p.add_argument("bot_dir")
    p.add_argument("--out", required=True, help="the folder to write: a bot directory with test/ inside")
    p.add_argument("--test", type=float, default=0.2, help="the share of each intent held out (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="which utterances are drawn (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from malmoi.data.split import write_split

    if not 0.0 < args.test < 1.0:
        raise UserError(f"--test is the share held out, between 0 and 1 (like 0.2), not {args.test:g}")
    if not (Path(args.bot_dir) / "bot.yaml").is_file():
        raise UserError(f"{args.bot_dir} is not a bot directory (no bot.yaml)")
    result = write_split(args.bot_dir, args.out, test=args.test, seed=args.seed)
    print_problems(result.notes)
    train, test = result.train, result.test
    ood_train, ood_test = train.pop("", 0), test.pop("", 0)
    print(f"wrote {result.out}: {sum(train.values())} utterances to train ({ood_train} out of domain), "
          f"{result.out / 'test'}: {sum(test.values())} held out ({ood_test} out of domain), "
          f"{args.test:g} of each of {len(train)} intents (seed {args.seed})")
    untested = sorted(set(train) - set(test))
    if untested:
        print(f"note: {len(untested)} intent(s) too small to hold any out: {', '.join(untested[:10])}",
              file=sys.stderr)
    print(f"next: malmoi train {result.out} --out MODEL && malmoi test MODEL {result.out / 'test'}", file=sys.stderr)
    return EXIT_OK
