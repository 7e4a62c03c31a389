"""What users asked: statistics of the message log (:mod:`malmoi.dialogue.store`), in SQL.

Every figure is one aggregate query run by the database (SQLite or PostgreSQL), never a Python
loop over rows: on a log of a million messages the rows stay in the database. The queries filter
on ``created_at`` (and ``bot``), which the log's indexes ``(bot, created_at)`` and
``(created_at)`` serve. ``malmoi stats`` prints them; the server shows them at ``/analytics``.

Slot-filling completion is counted per scenario from the statuses the log records: a *start* is
a message that left the user asked for an entity (``REQUIRE_...``) after a message that did not;
it *completes* when a later message of that user, before the next start, ends ``SUCCESS``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field

from malmoi.dialogue.store import StateStore, messages

__all__ = ["DayStats", "LogStats", "log_stats", "parse_age", "prune_log"]

LOW_CONFIDENCE = 0.5  # an in-domain answer below this is one to review
TOP_OUT_OF_DOMAIN = 20
_ASKING = "REQUIRE\\_%"  # a status while an entity is asked for (LIKE, `_` escaped)


class DayStats(BaseModel):
    day: str
    messages: int
    users: int
    fallback_rate: float


class LogStats(BaseModel):
    bot: str | None = Field(description="the bot counted, or None for every bot")
    since: str | None = Field(description="the first time counted (UTC, ISO 8601), or None for all")
    messages: int
    users: int = Field(description="distinct users who chatted (parse-only messages have none)")
    fallback_rate: float
    low_confidence_rate: float = Field(description=f"in-domain answers with confidence below {LOW_CONFIDENCE}")
    intents: dict[str, int]
    top_out_of_domain: list[dict[str, Any]] = Field(description="the most frequent fallback texts, with counts")
    slot_filling: dict[str, dict[str, Any]] = Field(description="per scenario: started, completed, completion_rate")
    sources: dict[str, int] = Field(description="messages per source: chat, kakao, parse, ...")
    days: list[DayStats]


_AGE = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(value: str) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``4w`` as a timedelta; ValueError naming the value otherwise."""
    found = _AGE.fullmatch(value.strip())
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"{value!r} is not an age like 30m, 24h, 7d or 4w")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def _rate(part: Any, whole: Any) -> float:
    return round(float(part or 0) / whole, 4) if whole else 0.0


def _day(engine: sa.engine.Engine) -> Any:
    if engine.dialect.name == "sqlite":
        return sa.func.substr(messages.c.created_at, 1, 10)  # stored as 'YYYY-MM-DD HH:MM:SS...'
    return sa.func.to_char(sa.func.timezone("UTC", messages.c.created_at), "YYYY-MM-DD")


def log_stats(store: StateStore, *, bot: str | None = None, since: timedelta | None = None,
              now: datetime | None = None) -> LogStats:
    """Statistics of the messages of ``bot`` (all bots if None) in the last ``since`` (all if None)."""
    start = (now or datetime.now(timezone.utc)) - since if since is not None else None
    where = []
    if bot is not None:
        where.append(messages.c.bot == bot)
    if start is not None:
        where.append(messages.c.created_at >= start)
    m = messages.c
    low = sa.func.sum(sa.case((sa.and_(m.fallback.is_(False), m.confidence < LOW_CONFIDENCE), 1), else_=0))
    fallbacks = sa.func.sum(sa.case((m.fallback.is_(True), 1), else_=0))
    engine = store.engine
    day = _day(engine).label("day")
    with engine.connect() as connection:
        db = connection.execution_options(malmoi_read=True)  # SQLite: a reader, never the write lock
        # Few scans of the range, each grouped in the database; Python adds up the groups only.
        days = db.execute(sa.select(day, sa.func.count(), sa.func.count(sa.distinct(m.user_id)), fallbacks, low)
                          .where(*where).group_by(day).order_by(day)).all()
        users = db.execute(sa.select(sa.func.count(sa.distinct(m.user_id))).where(*where)).scalar_one()
        groups = db.execute(sa.select(m.intent, m.source, m.fallback, sa.func.count())
                            .where(*where).group_by(m.intent, m.source, m.fallback)).all()
        top = db.execute(sa.select(m.text, sa.func.count().label("n")).where(*where, m.fallback.is_(True))
                         .group_by(m.text).order_by(sa.desc("n"), m.text).limit(TOP_OUT_OF_DOMAIN)).all()
        slot_filling = _slot_filling(db, where)
    total = sum(n for _, n, _, _, _ in days)
    fallback_count = sum(int(f or 0) for _, _, _, f, _ in days)
    low_count = sum(int(lo or 0) for _, _, _, _, lo in days)
    intents: dict[str, int] = {}
    sources: dict[str, int] = {}
    for intent, source, fallback, n in groups:
        sources[source] = sources.get(source, 0) + n
        if not fallback:
            intents[intent] = intents.get(intent, 0) + n
    intents = dict(sorted(intents.items(), key=lambda item: (-item[1], item[0])))
    return LogStats(
        bot=bot, since=start.isoformat() if start else None, messages=total, users=users,
        fallback_rate=_rate(fallback_count, total), low_confidence_rate=_rate(low_count, total - fallback_count),
        intents=intents, sources=sources,
        top_out_of_domain=[{"text": text, "count": n} for text, n in top],
        slot_filling=slot_filling,
        days=[DayStats(day=str(d), messages=n, users=u, fallback_rate=_rate(f, n)) for d, n, u, f, _ in days],
    )


def _slot_filling(db: sa.engine.Connection, where: list[Any]) -> dict[str, dict[str, Any]]:
    """Per scenario: conversations that started asking for entities, and those that finished."""
    m = messages.c
    asking = sa.case((m.status.like(_ASKING, escape="\\"), 1), else_=0)
    ordered = (sa.select(m.bot, m.user_id, m.intent, m.id, asking.label("asking"),
                         sa.case((m.status == "SUCCESS", 1), else_=0).label("success"),
                         sa.func.coalesce(sa.func.lag(asking).over(partition_by=(m.bot, m.user_id), order_by=m.id), 0)
                         .label("asked"))
               .where(*where, m.user_id.is_not(None), m.status.is_not(None)).subquery("ordered"))
    o = ordered.c
    is_start = sa.case((sa.and_(o.asking == 1, o.asked == 0), 1), else_=0)
    chained = sa.select(
        o.bot, o.user_id, o.intent, is_start.label("start"),
        sa.case((sa.and_(o.success == 1, o.asked == 1), 1), else_=0).label("finish"),
        sa.func.sum(is_start).over(partition_by=(o.bot, o.user_id), order_by=o.id).label("chain"),
    ).subquery("chained")
    c = chained.c
    # One row per chain (the messages from one start to the next): its scenario, and whether it finished.
    chains = (sa.select(sa.func.max(sa.case((c.start == 1, c.intent))).label("scenario"),
                        sa.func.max(c.finish).label("finished"))
              .where(c.chain > 0).group_by(c.bot, c.user_id, c.chain).subquery("chains"))
    rows = db.execute(sa.select(chains.c.scenario, sa.func.count(), sa.func.sum(chains.c.finished))
                      .group_by(chains.c.scenario).order_by(chains.c.scenario)).all()
    return {intent: {"started": n, "completed": int(k or 0), "completion_rate": _rate(k, n)} for intent, n, k in rows}


def prune_log(store: StateStore, *, keep: timedelta, now: datetime | None = None) -> int:
    """Delete the messages older than ``keep``; the number deleted."""
    cutoff = (now or datetime.now(timezone.utc)) - keep
    with store.writing(), store.engine.begin() as db:
        return int(db.execute(messages.delete().where(messages.c.created_at < cutoff)).rowcount or 0)
