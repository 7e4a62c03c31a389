"""Durable conversation state and message log, through SQLAlchemy: SQLite by default, PostgreSQL by URL.

Two tables (prefixed so that they can share a database with an application):

* ``malmoi_conversations`` (bot, user_id) → state JSON and a ``version``. Writers never lock a row
  while they think: they read the state, compute the next one, and write it with
  ``UPDATE ... WHERE version = <read version>``. If another message of the same user got there
  first the update matches no row, and the caller recomputes from the fresh state (optimistic
  concurrency control, as in HTTP's ETag/If-Match), so two concurrent messages never lose a slot.
* ``malmoi_messages``: every parsed message with its intent, confidence, fallback decision,
  entities, model version and time. A chat message is written in the same transaction as the
  state it led to; messages of ``/v1/parse`` go through a background writer in batches, so that
  logging costs the parse endpoint nothing measurable (at worst the last ~0.2 s of parse log is
  lost when the process is killed).

A database that cannot be used (unreachable, locked for too long, a file that is not a database,
or a SQLite file deleted or replaced while the server runs) raises errors for which
:func:`is_unavailable` is true; the server answers them with 503 ``store_unavailable``.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed transaction survives the process
being killed (SIGKILL) or restarted, because it is in the WAL file before COMMIT returns; only a
power loss or OS crash can lose the last transactions (never corrupt the file). ``FULL`` would add
an fsync to every chat message for that case alone; set ``MALMOI_SQLITE_SYNCHRONOUS=FULL`` to get it.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

try:
    import sqlalchemy as sa
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "malmoi's conversation store needs SQLAlchemy: pip install 'malmoi[serve]'"
    ) from exc

__all__ = ["DEFAULT_DATABASE_URL", "Conflict", "StateStore", "StoreUnavailable", "is_unavailable"]

logger = logging.getLogger("malmoi.dialogue")

# In the working directory, like other servers' default state files; `malmoi serve
# --database-url` or create_app(database_url=...) puts it elsewhere.
DEFAULT_DATABASE_URL = "sqlite:///malmoi-state.sqlite3"

_metadata = sa.MetaData()
conversations = sa.Table(
    "malmoi_conversations",
    _metadata,
    sa.Column("bot", sa.String(100), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
messages = sa.Table(
    "malmoi_messages",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("bot", sa.String(100), nullable=False),
    sa.Column("user_id", sa.String(200)),  # None for /v1/parse
    sa.Column("source", sa.String(20), nullable=False),  # parse, chat, kochat
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(200), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("fallback", sa.Boolean, nullable=False),
    sa.Column("entities", sa.JSON, nullable=False),
    sa.Column("model_version", sa.String(100), nullable=False),
    sa.Column("status", sa.String(200)),
    sa.Column("answer", sa.Text),
    sa.Index("ix_malmoi_messages_user", "bot", "user_id", "id"),
    # For statistics over a time range (malmoi stats, /analytics) and for pruning old messages. The
    # bot's index covers every column the statistics group or count by, so a month of one bot is
    # read from the index alone, in order, not row by row from the table (bench/stats_load.py).
    sa.Index("ix_malmoi_messages_bot_time", "bot", "created_at", "fallback", "confidence", "intent", "source",
             "user_id", "status"),
    sa.Index("ix_malmoi_messages_time", "created_at"),
)

# Built once: SQLAlchemy then reuses their compiled SQL, where building a statement per call
# with literal values cost more CPU than the database work itself.
_SELECT_STATE = sa.select(conversations.c.state, conversations.c.version).where(
    conversations.c.bot == sa.bindparam("b_bot"), conversations.c.user_id == sa.bindparam("b_user")
)
_INSERT_STATE = conversations.insert()
_UPDATE_STATE = (
    conversations.update()
    .where(
        conversations.c.bot == sa.bindparam("b_bot"),
        conversations.c.user_id == sa.bindparam("b_user"),
        conversations.c.version == sa.bindparam("b_version"),
    )
    .values(
        version=sa.bindparam("new_version"),
        state=sa.bindparam("new_state", type_=sa.JSON),
        updated_at=sa.bindparam("new_updated_at", type_=sa.DateTime(timezone=True)),
    )
)
_INSERT_MESSAGE = messages.insert()
# Reads the schema and a page of the table: fails on a file that is not a database.
_CHECK = sa.select(conversations.c.version).limit(1)
_FINISH_MESSAGE = (
    messages.update()
    .where(messages.c.id == sa.bindparam("b_id"))
    .values(status=sa.bindparam("new_status"), answer=sa.bindparam("new_answer"))
)

_BATCH_SECONDS = 0.2  # parse-log writer: at most this much log is in memory only
_BATCH_ROWS = 500
_MAX_QUEUED = 100_000


class Conflict(Exception):
    """Another message of the same user changed the state first: recompute and try again."""


class StoreUnavailable(Exception):
    """The database cannot be used until someone acts (its SQLite file was deleted or replaced)."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether a store error means that the database cannot be used now, rather than a bug.

    Connection failures, timeouts, locks and a file that is not (or no longer) a database are;
    constraint violations and SQL errors are bugs.
    """
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.InternalError,
                        sa.exc.TimeoutError, sa.exc.DisconnectionError)):
        return True
    # sqlite3.DatabaseError itself, not a subclass: "file is not a database", "database disk
    # image is malformed". Its subclasses IntegrityError, ProgrammingError... are bugs.
    return type(exc) is sa.exc.DatabaseError


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def normalize_url(url: str | Path | None) -> str:
    """A SQLAlchemy URL: a bare path means a SQLite file; ``postgresql://`` uses psycopg 3."""
    if url is None:
        return DEFAULT_DATABASE_URL
    url = str(url)
    if "://" not in url:
        return f"sqlite:///{url}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class StateStore:
    """Conversation states and the message log in one SQL database.

    Args:
        url: SQLAlchemy URL (``sqlite:///state.sqlite3``, ``postgresql://user@host/db``) or a
            file path; ``None`` for ``./malmoi-state.sqlite3``; ``"sqlite://"`` keeps everything
            in memory (tests, notebooks).
    """

    def __init__(self, url: str | Path | None = None) -> None:
        self.url = normalize_url(url)
        parsed = sa.engine.make_url(self.url)
        sqlite = parsed.get_backend_name() == "sqlite"
        self._memory = sqlite and parsed.database in (None, "", ":memory:")
        # One shared in-memory connection must not run two threads' transactions interleaved.
        self._memory_lock = threading.Lock() if self._memory else None
        # SQLite has one writer at a time; threads of one process queue on this lock instead of
        # in SQLite's busy handler, which sleeps in steps of up to 100 ms and makes tail latency.
        self._write_lock = self._memory_lock or (threading.Lock() if sqlite else None)
        # The SQLite file in use (device, inode), set once its tables exist; see _check_file.
        self._path = None if self._memory or not sqlite else Path(parsed.database or "").expanduser().resolve()
        self._file: tuple[int, int] | None = None
        self.engine = self._create_engine(parsed)
        self._create_tables()
        if self._path is not None:
            self._file = _file_id(self._path)
        # Bounded: if the database stalls, the log drops messages rather than grow without end.
        self._log_queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=_MAX_QUEUED)
        self._dropped = 0
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    def _create_engine(self, url: sa.engine.URL) -> sa.engine.Engine:
        if url.get_backend_name() != "sqlite":
            try:
                return sa.create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)
            except ImportError as exc:
                raise ImportError(
                    f"the database URL {url.render_as_string(hide_password=True)} needs a driver "
                    f"that is not installed ({exc}); for PostgreSQL: pip install 'malmoi[serve]'"
                ) from exc
        if url.database and not self._memory:
            Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if self._memory:
            kwargs["poolclass"] = sa.pool.StaticPool
        engine = sa.create_engine(url, **kwargs)
        synchronous = os.environ.get("MALMOI_SQLITE_SYNCHRONOUS", "NORMAL").upper()
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"MALMOI_SQLITE_SYNCHRONOUS={synchronous}: expected NORMAL or FULL")
        memory = self._memory

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Transactions are begun explicitly below; pysqlite's own implicit BEGIN would
            # start writers as readers, which SQLite cannot upgrade when another wrote since.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @sa.event.listens_for(engine, "do_connect")
        def _before_connect(*_args: Any) -> None:
            # Without this, a new connection would silently create an empty file in place of a
            # deleted one, paired with the old file's leftover -wal: a corrupt database.
            self._check_file()

        @sa.event.listens_for(engine, "checkout")
        def _on_checkout(*_args: Any) -> None:
            self._check_file()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: sa.engine.Connection) -> None:
            # Writers take the write lock up front and wait for it (busy_timeout) instead of
            # failing halfway; reads use a plain deferred transaction.
            read = connection.get_execution_options().get("malmoi_read", False)
            connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine

    def _create_tables(self) -> None:
        # Several server workers may start at once; the loser of a CREATE TABLE race retries.
        for attempt in range(3):
            try:
                with self._writing():
                    _metadata.create_all(self.engine)
                    # create_all adds missing tables only: indexes added since a database was made
                    # are created here, so an existing database gets them on its next start.
                    with self.engine.begin() as conn:
                        for index in messages.indexes:
                            index.create(conn, checkfirst=True)
                return
            except sa.exc.DBAPIError:
                if attempt == 2:
                    raise

    def _check_file(self) -> None:
        """Raise StoreUnavailable if the SQLite file was deleted or replaced since the start.

        SQLite keeps reading and writing a deleted file through the connections that have it
        open, so every later message would be lost at the next restart without a word. Opening
        the new file instead is not safe either: when the old connections close, SQLite deletes
        the -wal and -shm files *by name*, which would then be the new database's. So the store
        reports the problem until the server is restarted. A stat() per checkout costs ~1 µs.
        """
        if self._path is None or self._file is None:
            return
        current = _file_id(self._path)
        if current != self._file:
            what = "deleted" if current is None else "replaced by another file"
            raise StoreUnavailable(
                f"the database file {self._path} was {what} while the server was running; "
                "restart the server (or open a new StateStore) to use the file now there, or a new one"
            )

    def check(self) -> None:
        """Raise if the database cannot be read now (``/health``): a cheap query on its tables."""
        with self._locked(), self.engine.connect() as conn:
            conn.execution_options(malmoi_read=True).execute(_CHECK).first()

    def _locked(self) -> Any:
        return self._memory_lock if self._memory_lock is not None else _NoLock()

    def writing(self) -> Any:
        """Held while writing: SQLite's one writer at a time, queued in this process."""
        return self._writing()

    def _writing(self) -> Any:
        return self._write_lock if self._write_lock is not None else _NoLock()

    # -- conversations ---------------------------------------------------------------------

    def load(self, bot: str, user_id: str) -> tuple[dict[str, Any] | None, int]:
        """The stored state of a user and its version; ``(None, 0)`` for a new user."""
        with self._locked(), self.engine.connect() as conn:
            params = {"b_bot": bot, "b_user": user_id}
            row = conn.execution_options(malmoi_read=True).execute(_SELECT_STATE, params).first()
        return (None, 0) if row is None else (dict(row.state), int(row.version))

    def save(
        self,
        bot: str,
        user_id: str,
        state: Mapping[str, Any],
        *,
        expected_version: int,
        message: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Write a state if its version is still ``expected_version``; log ``message`` with it.

        Returns:
            The id of the logged message (``None`` without one).
        Raises:
            Conflict: the state changed since it was read.
        """
        now = datetime.now(timezone.utc)
        with self._writing():
            try:
                with self.engine.begin() as conn:
                    if expected_version == 0:
                        conn.execute(
                            _INSERT_STATE,
                            {"bot": bot, "user_id": user_id, "version": 1, "state": dict(state), "updated_at": now},
                        )
                    else:
                        result = conn.execute(_UPDATE_STATE, {
                            "b_bot": bot, "b_user": user_id, "b_version": expected_version,
                            "new_version": expected_version + 1, "new_state": dict(state), "new_updated_at": now,
                        })
                        if result.rowcount != 1:
                            raise Conflict(user_id)
                    if message is None:
                        return None
                    key = conn.execute(_INSERT_MESSAGE, _message_row(message, now)).inserted_primary_key
                    assert key is not None
                    return int(key[0])
            except sa.exc.IntegrityError as exc:  # a first message of this user raced another
                raise Conflict(user_id) from exc

    def finish_message(self, message_id: int, *, status: str, answer: str) -> None:
        """Record the answer of a message whose action ran after its state was saved."""
        with self._writing(), self.engine.begin() as conn:
            conn.execute(_FINISH_MESSAGE, {"b_id": message_id, "new_status": status, "new_answer": answer})

    def delete(self, bot: str, user_id: str) -> None:
        with self._writing(), self.engine.begin() as conn:
            conn.execute(
                conversations.delete().where(conversations.c.bot == bot, conversations.c.user_id == user_id)
            )

    # -- message log -----------------------------------------------------------------------

    def log(self, message: Mapping[str, Any]) -> None:
        """Queue a parsed message for the log; written within ~0.2 s by a background thread."""
        try:
            self._log_queue.put_nowait({**message, "created_at": datetime.now(timezone.utc)})
        except queue.Full:
            self._dropped += 1
            if self._dropped % 10_000 == 1:
                logger.warning("the message log cannot keep up; %d parsed messages not logged", self._dropped)
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_log, name="malmoi-log", daemon=True)
                    self._writer.start()

    def _write_log(self) -> None:
        stop = False
        while not stop:
            batch: list[dict[str, Any]] = []
            item = self._log_queue.get()
            while True:
                if item is None:
                    stop = True
                    break
                batch.append(_message_row(item, item["created_at"]))
                if len(batch) >= _BATCH_ROWS:
                    break
                try:
                    item = self._log_queue.get(timeout=_BATCH_SECONDS if len(batch) == 1 else 0.01)
                except queue.Empty:
                    break
            if batch:
                try:
                    with self._writing(), self.engine.begin() as conn:
                        conn.execute(_INSERT_MESSAGE, batch)
                except Exception as exc:  # the log must never take the server down
                    if is_unavailable(exc):  # said once per batch in one line, not a traceback each
                        logger.error("could not write %d parsed messages to the log: %s", len(batch),
                                     str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                    else:
                        logger.exception("could not write %d parsed messages to the log", len(batch))

    def flush(self) -> None:
        """Write every queued log message now (stops and restarts the writer)."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._log_queue.put(None)
                writer.join()

    def messages(self, bot: str | None = None, user_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest logged messages, oldest first."""
        query = sa.select(messages).order_by(messages.c.id.desc()).limit(limit)
        if bot is not None:
            query = query.where(messages.c.bot == bot)
        if user_id is not None:
            query = query.where(messages.c.user_id == user_id)
        with self._locked(), self.engine.connect() as conn:
            rows = conn.execution_options(malmoi_read=True).execute(query).mappings().all()
        return [dict(r) for r in reversed(rows)]

    def messages_to_review(self, bot: str, *, below: float, limit: int = 1000) -> list[dict[str, Any]]:
        """The latest logged messages of ``bot`` that fell back or whose confidence is under
        ``below`` (``malmoi review``), newest first."""
        query = (
            sa.select(messages)
            .where(messages.c.bot == bot, sa.or_(messages.c.fallback.is_(True), messages.c.confidence < below))
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        with self._locked(), self.engine.connect() as conn:
            rows = conn.execution_options(malmoi_read=True).execute(query).mappings().all()
        return [dict(r) for r in rows]

    def messages_by_id(self, bot: str, ids: list[int]) -> list[dict[str, Any]]:
        """The logged messages of ``bot`` with these ids (ids of other bots are not found)."""
        query = sa.select(messages).where(messages.c.bot == bot, messages.c.id.in_(ids)).order_by(messages.c.id.desc())
        with self._locked(), self.engine.connect() as conn:
            rows = conn.execution_options(malmoi_read=True).execute(query).mappings().all()
        return [dict(r) for r in rows]

    def close(self) -> None:
        self.flush()
        self.engine.dispose()


def _message_row(message: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "created_at": now,
        "bot": message["bot"],
        "user_id": message.get("user_id"),
        "source": message["source"],
        "text": message["text"],
        "intent": message["intent"],
        "confidence": float(message["confidence"]),
        "fallback": bool(message["fallback"]),
        "entities": list(message["entities"]),
        "model_version": message["model_version"],
        "status": message.get("status"),
        "answer": message.get("answer"),
    }


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
