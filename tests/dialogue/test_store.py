"""The SQL state store: versioned writes, the message log, URLs."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from fake_model import CONFIG, FakeModel

from malmoi.dialogue import Dialogue, StateStore
from malmoi.dialogue.store import (
    DEFAULT_DATABASE_URL,
    Conflict,
    StoreUnavailable,
    is_unavailable,
    normalize_url,
)

MESSAGE = {"bot": "b", "source": "parse", "text": "안녕", "intent": "greeting", "confidence": 0.9,
           "fallback": False, "entities": [], "model_version": "v1"}


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")


def test_store_new_user_has_no_state(store: StateStore) -> None:
    assert store.load("b", "nobody") == (None, 0)


def test_store_save_increments_version_and_detects_stale_writes(store: StateStore) -> None:
    store.save("b", "u", {"turn": 1}, expected_version=0)
    assert store.load("b", "u") == ({"turn": 1}, 1)
    store.save("b", "u", {"turn": 2}, expected_version=1)
    with pytest.raises(Conflict):
        store.save("b", "u", {"turn": 99}, expected_version=1)  # read before the turn-2 write
    with pytest.raises(Conflict):
        store.save("b", "u", {"turn": 99}, expected_version=0)  # a second "first message"
    assert store.load("b", "u") == ({"turn": 2}, 2)


def test_store_keeps_bots_apart(store: StateStore) -> None:
    store.save("bot-a", "u", {"turn": 1}, expected_version=0)
    assert store.load("bot-b", "u") == (None, 0)


def test_store_conflict_rolls_back_the_message_too(store: StateStore) -> None:
    store.save("b", "u", {"turn": 1}, expected_version=0)
    with pytest.raises(Conflict):
        store.save("b", "u", {"turn": 2}, expected_version=5, message={**MESSAGE, "user_id": "u"})
    assert store.messages() == []


def test_store_parse_log_is_written_in_background_and_flushed(store: StateStore) -> None:
    for i in range(700):  # more than one batch
        store.log({**MESSAGE, "text": f"m{i}"})
    store.flush()
    rows = store.messages(limit=1000)
    assert [r["text"] for r in rows] == [f"m{i}" for i in range(700)]
    assert rows[0]["user_id"] is None and rows[0]["source"] == "parse"
    store.log({**MESSAGE, "text": "after flush"})  # the writer restarts
    store.close()
    assert store.messages()[-1]["text"] == "after flush"


def test_store_sqlite_file_uses_wal(store: StateStore, tmp_path: Path) -> None:
    store.save("b", "u", {}, expected_version=0)
    with sqlite3.connect(tmp_path / "state.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("files", ["the file", "the file, its -wal and -shm"])
def test_store_reports_a_sqlite_file_deleted_under_it(tmp_path: Path, files: str) -> None:
    # SQLite would go on writing the deleted file through its open connections: every later
    # conversation lost at the next restart, without a word. The store says so instead.
    path = tmp_path / "state.sqlite3"
    store = StateStore(f"sqlite:///{path}")
    store.save("b", "u", {"turn": 1}, expected_version=0)
    for file in [path] if files == "the file" else list(tmp_path.glob("state.sqlite3*")):
        file.unlink()
    for operation in (store.check, lambda: store.load("b", "u"),
                      lambda: store.save("b", "new", {"turn": 1}, expected_version=0)):
        with pytest.raises(StoreUnavailable, match="was deleted while the server was running") as caught:
            operation()
        assert is_unavailable(caught.value)
    assert not path.exists()  # no empty file made in its place, paired with a leftover -wal
    store.close()
    fresh = StateStore(f"sqlite:///{path}")  # what a restart does
    fresh.save("b", "new", {"turn": 1}, expected_version=0)
    assert fresh.load("b", "new") == ({"turn": 1}, 1)
    fresh.close()


def test_store_reports_a_sqlite_file_replaced_under_it(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = StateStore(f"sqlite:///{path}")
    store.save("b", "u", {"turn": 1}, expected_version=0)
    other = StateStore(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    other.save("b", "u", {"turn": 7}, expected_version=0)
    other.close()
    (tmp_path / "other.sqlite3").replace(path)  # e.g. a backup restored with mv
    with pytest.raises(StoreUnavailable, match="replaced by another file"):
        store.load("b", "u")


def test_store_corrupted_file_is_unavailable_not_a_bug(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = StateStore(f"sqlite:///{path}")
    store.save("b", "u", {"turn": 1}, expected_version=0)
    store.close()
    path.write_bytes(b"this is not a database" * 500)
    for file in tmp_path.glob("state.sqlite3-*"):
        file.unlink()
    with pytest.raises(Exception, match="file is not a database") as caught:
        StateStore(f"sqlite:///{path}")
    assert is_unavailable(caught.value), caught.value  # the server answers 503, not 500


def test_is_unavailable_tells_outages_from_bugs() -> None:
    import sqlalchemy.exc as sa_exc

    def wrapped(kind: type[sa_exc.DBAPIError], error: Exception) -> sa_exc.DBAPIError:
        return kind("SELECT 1", {}, error)

    assert is_unavailable(wrapped(sa_exc.OperationalError, sqlite3.OperationalError("database is locked")))
    assert is_unavailable(wrapped(sa_exc.DatabaseError, sqlite3.DatabaseError("file is not a database")))
    assert is_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert is_unavailable(StoreUnavailable("deleted"))
    assert not is_unavailable(wrapped(sa_exc.IntegrityError, sqlite3.IntegrityError("UNIQUE failed")))
    assert not is_unavailable(wrapped(sa_exc.ProgrammingError, sqlite3.ProgrammingError("bad SQL")))
    assert not is_unavailable(ValueError("not a database error"))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, DEFAULT_DATABASE_URL),
        ("state.db", "sqlite:///state.db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalize_url(given: str | None, expected: str) -> None:
    assert normalize_url(given) == expected


def test_store_concurrent_messages_of_one_user_never_lose_a_slot(tmp_path: Path) -> None:
    """Three replies filling three slots at the same moment: every one must count.

    The store's reads are slowed so that the threads' read-modify-write windows overlap and
    real conflicts happen (counted), instead of hoping the scheduler interleaves them.
    """
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    load, save = store.load, store.save
    conflicts = []

    def slow_load(*args):
        result = load(*args)
        threading.Event().wait(0.01)
        return result

    def counting_save(*args, **kwargs):
        try:
            return save(*args, **kwargs)
        except Conflict:
            conflicts.append(1)
            raise

    store.load, store.save = slow_load, counting_save  # type: ignore[method-assign]
    bot = Dialogue(FakeModel(CONFIG), store=store)
    users = [f"user{i}" for i in range(8)]
    for user in users:
        bot.chat(user, "여행 가자")
    barrier = threading.Barrier(len(users) * 3)
    errors: list[BaseException] = []

    def send(user: str, text: str) -> None:
        try:
            barrier.wait()
            bot.chat(user, text)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(u, t)) for u in users for t in ("부산", "내일", "국밥")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert conflicts, "the test did not provoke a single conflict"
    for user in users:
        state = bot.state(user)
        assert state.status == "SUCCESS", state
        assert state.slots == {"LOCATION": "부산", "DATE": "내일", "RESTAURANT": "국밥"}
        assert len(store.messages(user_id=user)) == 4


def test_a_database_of_an_older_malmoi_gets_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    """The message log's bot_version and environment columns came later: an older database is migrated."""
    path = tmp_path / "old.sqlite3"
    StateStore(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as old:  # as an older malmoi made it: without the two columns
        old.execute("DROP TABLE malmoi_messages")
        old.execute("CREATE TABLE malmoi_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at DATETIME NOT NULL, "
                    "bot VARCHAR(100) NOT NULL, user_id VARCHAR(200), source VARCHAR(20) NOT NULL, text TEXT NOT NULL, "
                    "intent VARCHAR(200) NOT NULL, confidence FLOAT NOT NULL, fallback BOOLEAN NOT NULL, "
                    "entities JSON NOT NULL, model_version VARCHAR(100) NOT NULL, status VARCHAR(200), answer TEXT)")
        old.execute("INSERT INTO malmoi_messages (created_at, bot, source, text, intent, confidence, fallback, "
                    "entities, model_version) VALUES ('2026-01-01 00:00:00', 'b', 'parse', 'old', 'greeting', 0.9, 0, "
                    "'[]', 'm1')")
    store = StateStore(f"sqlite:///{path}")
    store.log({**MESSAGE, "text": "new", "bot_version": "v000002", "environment": "beta"})
    store.close()
    rows = StateStore(f"sqlite:///{path}").messages()
    assert [(r["text"], r["bot_version"], r["environment"]) for r in rows] == [
        ("old", None, None), ("new", "v000002", "beta")]
