"""``malmoi stats``: what users asked, from the message log of ``malmoi serve`` (docs/serving.md).

Messages, users, intents, fallback and low-confidence rates, the most frequent out-of-domain
messages, slot-filling completion per scenario, and the same by day; as text, ``--json``, or an
offline HTML page (``--html FILE``). ``--retain-days N`` first deletes messages older than N days
(run it daily, from cron, so that the log does not grow without bound).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

from malmoi.cli._common import EXIT_OK, Commands, UserError, database_url_option
from malmoi.outputs import check_file


def add_parser(commands: Commands) -> None:
    p = commands.add_parser("stats", help="what users asked: statistics of the server's message log")
    database_url_option(p, "the server's database (default: sqlite:///malmoi-state.sqlite3 in the current directory)")
    p.add_argument("--bot", help="only this bot (default: every bot in the log)")
    p.add_argument("--since", type=since_type, metavar="AGE",
                   help="only messages of the last AGE: 30m, 24h, 7d, 4w (default: all)")
    p.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    p.add_argument("--html", metavar="FILE", help="also write them as an offline HTML page with charts")
    p.add_argument("--retain-days", type=int, metavar="N",
                   help="first delete logged messages older than N days (log retention)")
    p.set_defaults(func=run)


def since_type(value: str) -> timedelta:
    from malmoi.dialogue.analytics import parse_age

    try:
        return parse_age(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from malmoi.dialogue.analytics import log_stats, prune_log
    from malmoi.dialogue.store import StateStore

    if args.retain_days is not None and args.retain_days < 1:
        raise UserError(f"--retain-days must be at least 1, not {args.retain_days}")
    if args.html:
        check_file(args.html, "--html", "report")
    store = StateStore(args.database_url)
    try:
        if args.retain_days is not None:
            deleted = prune_log(store, keep=timedelta(days=args.retain_days))
            print(f"deleted {deleted} message(s) older than {args.retain_days} days", file=sys.stderr)
        stats = log_stats(store, bot=args.bot, since=args.since)
    finally:
        store.close()
    if args.html:
        from malmoi.report.analytics import render_analytics

        Path(args.html).write_text(render_analytics(stats), "utf-8")
    if args.json:
        print(json.dumps(stats.model_dump(mode="json"), ensure_ascii=False))
        return EXIT_OK
    print(f"{stats.messages} messages from {stats.users} users" + (f" of {stats.bot}" if stats.bot else "")
          + (f" since {stats.since}" if stats.since else ""))
    print(f"fallback {stats.fallback_rate:.1%}, low confidence {stats.low_confidence_rate:.1%}")
    for intent, count in list(stats.intents.items())[:10]:
        print(f"  {intent:<24} {count}")
    for name, s in stats.slot_filling.items():
        print(f"  slot filling {name}: {s['completed']}/{s['started']} ({s['completion_rate']:.0%})")
    for row in stats.top_out_of_domain[:10]:
        print(f"  out of domain ×{row['count']}: {row['text']}")
    return EXIT_OK
