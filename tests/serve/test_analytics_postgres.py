"""malmoi stats's queries on PostgreSQL: the same figures as on SQLite (tests/dialogue/test_analytics.py)."""

from __future__ import annotations

from dialogue.test_analytics import check_known_log, write_known_log
from malmoi.dialogue.store import StateStore


def test_stats_of_a_known_log_on_postgresql(postgres_url: str) -> None:
    store = write_known_log(StateStore(postgres_url))
    try:
        check_known_log(store)
    finally:
        store.close()
