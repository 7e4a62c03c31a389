"""Statistics of the message log (malmoi stats): the figures of a log written by hand, time
filters, retention, and the indexes an existing database gets."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from malmoi.dialogue.analytics import log_stats, prune_log
from malmoi.dialogue.store import StateStore, messages

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parents[2]


def row(minutes_ago: float, user: str | None, text: str, intent: str, status: str | None, *,
        bot: str = "b", confidence: float = 0.9, fallback: bool = False, source: str = "chat") -> dict[str, Any]:
    return {"created_at": NOW - timedelta(minutes=minutes_ago), "bot": bot, "user_id": user, "source": source,
            "text": text, "intent": intent, "confidence": confidence, "fallback": fallback, "entities": [],
            "model_version": "m", "status": status, "answer": None}


# u1: weather asks, then completes over two more messages (two entities).
# u2: weather asks and is abandoned (a fallback next); then asks again and completes.
# u3: food asks, never completes. Two parse-only fallbacks; one message of another bot.
KNOWN_LOG = [
    row(3000, "u1", "날씨 알려줘", "weather", "REQUIRE_LOCATION_DATE"),
    row(2999, "u1", "부산", "weather", "REQUIRE_DATE"),
    row(2998, "u1", "내일", "greeting", "SUCCESS", confidence=0.3),
    row(60, "u2", "날씨", "weather", "REQUIRE_LOCATION"),
    row(59, "u2", "아무말", "fallback", "FALLBACK", fallback=True, confidence=0.2),
    row(58, "u2", "날씨", "weather", "REQUIRE_LOCATION"),
    row(57, "u2", "서울", "weather", "SUCCESS"),
    row(30, "u3", "맛집", "food", "REQUIRE_LOCATION"),
    row(20, None, "아무말", "fallback", None, fallback=True, source="parse"),
    row(10, None, "뭐야", "fallback", None, fallback=True, source="parse"),
    row(5, "x", "안녕", "greeting", "SUCCESS", bot="other"),
]


def write_known_log(store: StateStore) -> StateStore:
    with store.engine.begin() as db:
        db.execute(messages.delete())
        db.execute(messages.insert(), KNOWN_LOG)
    return store


def check_known_log(store: StateStore) -> None:
    """The figures of KNOWN_LOG, worked out by hand; also run on PostgreSQL (tests/serve)."""
    stats = log_stats(store, bot="b", now=NOW)
    assert (stats.messages, stats.users) == (10, 3)
    assert stats.fallback_rate == 0.3
    assert stats.low_confidence_rate == round(1 / 7, 4)  # one in-domain answer below 0.5, of 7
    assert stats.intents == {"weather": 5, "food": 1, "greeting": 1}
    assert stats.top_out_of_domain == [{"text": "아무말", "count": 2}, {"text": "뭐야", "count": 1}]
    assert stats.sources == {"chat": 8, "parse": 2}
    assert stats.slot_filling == {
        "food": {"started": 1, "completed": 0, "completion_rate": 0.0},
        "weather": {"started": 3, "completed": 2, "completion_rate": 0.6667},
    }
    assert [(d.day, d.messages) for d in stats.days] == [("2026-12-05", 3), ("2026-12-07", 7)]
    assert log_stats(store, bot="b", since=timedelta(hours=2), now=NOW).messages == 7
    assert prune_log(store, keep=timedelta(days=1), now=NOW) == 3
    assert log_stats(store, now=NOW).messages == 8


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    store = write_known_log(StateStore(f"sqlite:///{tmp_path / 'log.db'}"))
    yield store
    store.close()


def test_stats_of_a_known_log(store: StateStore) -> None:
    check_known_log(store)


def test_since_and_bot_filter(store: StateStore) -> None:
    assert log_stats(store, bot="b", since=timedelta(hours=2), now=NOW).messages == 7
    assert log_stats(store, since=timedelta(hours=2), now=NOW).messages == 8
    assert log_stats(store, bot="nobody", now=NOW).messages == 0


def test_an_existing_database_gets_the_new_indexes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    StateStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as db:  # as a database made before the indexes were added
        db.exec_driver_sql("DROP INDEX ix_malmoi_messages_bot_time")
        db.exec_driver_sql("DROP INDEX ix_malmoi_messages_time")
    StateStore(url).close()
    names = {index["name"] for index in sa.inspect(engine).get_indexes("malmoi_messages")}
    assert {"ix_malmoi_messages_bot_time", "ix_malmoi_messages_time"} <= names


def test_stats_command_prints_json_and_writes_html(store: StateStore, tmp_path: Path) -> None:
    url = str(store.engine.url)
    html = tmp_path / "a.html"
    env = {"PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-m", "malmoi.cli", "stats", "--database-url", url, "--json",
                           "--html", str(html), "--bot", "b"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["messages"] == 10
    assert "Plotly.newPlot" in html.read_text("utf-8") and "아무말" in html.read_text("utf-8")
    bad = subprocess.run([sys.executable, "-m", "malmoi.cli", "stats", "--database-url", url, "--since", "week"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "--since" in bad.stderr
