"""How fast ``malmoi stats`` reads a large message log: fills a log with N messages (1,000,000 by
default) and times the statistics of 30 days of one bot, of every bot, and log retention.

The log holds 90 days of 10 bots, half of the messages the one bot ``main``'s (so 30 days of it
is about 170,000 messages), 20,000 users, a tenth of the messages fallbacks, conversations that
ask for entities and finish or not. Rows are inserted through the store's own table
(:mod:`malmoi.dialogue.store`) in batches; the database gets the store's indexes.

Run:  python bench/stats_load.py [--messages 1000000] [--database-url URL] [--out FILE]
      scripts/start_postgres.sh 55432   # prints a URL for --database-url
Default database: a fresh SQLite file in a temporary folder. Results: a table and JSON in
bench/results/stats_load.json (``--out``).
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import _cli
from malmoi.dialogue.analytics import log_stats, prune_log
from malmoi.dialogue.store import StateStore, messages

BATCH = 20_000
STATUSES = ["REQUIRE_LOCATION", "SUCCESS", "SUCCESS", "SUCCESS", "FALLBACK", "REQUIRE_DATE"]
INTENTS = ["weather", "restaurant", "greeting", "booking", "traffic"]


def fill(store: StateStore, count: int, now: datetime, seed: int = 0) -> float:
    """Insert ``count`` messages over the 90 days before ``now``, oldest first as a server writes
    them, the indexes built after; the seconds it took."""
    rng = random.Random(seed)
    started = time.perf_counter()
    span = 90 * 86400
    written = 0
    with store.writing(), store.engine.begin() as db:
        for index in messages.indexes:
            index.drop(db)
    while written < count:
        rows = []
        for i in range(min(BATCH, count - written)):
            fallback = rng.random() < 0.1
            rows.append({
                "created_at": now - timedelta(seconds=span * (1 - (written + i) / count)),
                "bot": "main" if rng.random() < 0.5 else f"bot{rng.randrange(9)}",
                "user_id": f"u{rng.randrange(20_000)}", "source": rng.choice(["chat", "kakao", "line"]),
                "text": f"질문 {rng.randrange(5_000)}", "intent": "fallback" if fallback else rng.choice(INTENTS),
                "confidence": rng.random(), "fallback": fallback, "entities": [], "model_version": "bench",
                "status": "FALLBACK" if fallback else rng.choice(STATUSES), "answer": "답",
            })
        with store.writing(), store.engine.begin() as db:
            db.execute(messages.insert(), rows)
        written += len(rows)
    with store.writing(), store.engine.begin() as db:
        for index in messages.indexes:
            index.create(db)
    return time.perf_counter() - started


def timed(function: Any, *args: Any, repeat: int = 3, **kwargs: Any) -> tuple[float, float, Any]:
    """The best of ``repeat`` runs: wall seconds, this process's CPU seconds (SQLite runs in this
    process: its CPU is the time on an idle machine; PostgreSQL's is in the server), the result."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = function(*args, **kwargs)
        best, best_cpu = min(best, time.perf_counter() - started), min(best_cpu, time.process_time() - cpu)
    return best, best_cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = _cli.Parser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in the log (default 1,000,000)")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per query; the best is kept")
    parser.add_out(_cli.RESULTS / "stats_load.json")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="malmoi-stats-load-"))
    url = args.database_url or f"sqlite:///{work / 'log.sqlite3'}"
    now = datetime.now(timezone.utc)
    store = StateStore(url)
    try:
        with store.engine.connect() as db:
            existing = db.execute(messages.select().limit(1)).first()
        if existing is not None:
            parser.error(f"{store.engine.url.render_as_string(hide_password=True)} already has messages; "
                         "give an empty database")
        print(f"filling {args.messages:,} messages ...", flush=True)
        fill_seconds = fill(store, args.messages, now)
        if store.engine.dialect.name == "postgresql":
            with store.engine.connect() as db:
                db.exec_driver_sql("ANALYZE malmoi_messages")
                db.commit()
        load_before = os.getloadavg()[0]
        month = timedelta(days=30)
        one_bot, one_bot_cpu, stats = timed(log_stats, store, bot="main", since=month, now=now, repeat=args.repeat)
        every_bot, every_bot_cpu, every = timed(log_stats, store, since=month, now=now, repeat=args.repeat)
        prune_seconds, _, deleted = timed(prune_log, store, keep=timedelta(days=60), now=now, repeat=1)
        load_after = os.getloadavg()[0]
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "benchmark": "stats-load",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
                   f"Python {platform.python_version()}",
        "database": store.engine.dialect.name,
        "messages": args.messages,
        "fill_seconds": round(fill_seconds, 1),
        "stats_30_days_one_bot_seconds": round(one_bot, 3),
        "stats_30_days_one_bot_cpu_seconds": round(one_bot_cpu, 3),
        "stats_30_days_one_bot_messages": stats.messages,
        "stats_30_days_every_bot_seconds": round(every_bot, 3),
        "stats_30_days_every_bot_cpu_seconds": round(every_bot_cpu, 3),
        "stats_30_days_every_bot_messages": every.messages,
        "retention_60_days_seconds": round(prune_seconds, 3),
        "retention_deleted": deleted,
        "load_average": [round(load_before, 2), round(load_after, 2)],
    }
    print(f"{result['database']}: {args.messages:,} messages (filled in {fill_seconds:.0f} s)\n"
          f"  30 days of one bot  ({stats.messages:,} messages): {one_bot:.3f} s (CPU here {one_bot_cpu:.3f} s)\n"
          f"  30 days of 10 bots  ({every.messages:,} messages): {every_bot:.3f} s (CPU here {every_bot_cpu:.3f} s)\n"
          f"  retention: {deleted:,} messages older than 60 days deleted in {prune_seconds:.2f} s\n"
          f"  1-minute load average {load_before:.1f} before the queries, {load_after:.1f} after")
    _cli.save_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
