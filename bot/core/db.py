"""Database engine, session factory and the declarative base for bot's tables."""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, String, TypeDecorator, event, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from knowledge import store

# One naming convention for every table in the database: the knowledge base's and ours.
NAMING_CONVENTION = store.NAMING_CONVENTION


class Base(DeclarativeBase):
    """Base of every bot table; stable constraint names keep Alembic diffs clean."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every *_at column stores UTC."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets readers run beside the one writer; busy_timeout makes concurrent writers (several
    # app instances on one file) wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin_before_savepoint(conn: Any, _name: str) -> None:
    """Open the transaction before a SAVEPOINT that would come first in it.

    Python's sqlite3 (legacy mode) sends BEGIN only before the first INSERT/UPDATE/DELETE. A
    SAVEPOINT sent before any write so starts a transaction of its own, and its RELEASE
    commits it: the savepoint's writes then survived the outer rollback.
    """
    proxied = conn.connection  # the pool's connection: the driver's and the DBAPI adapter
    if not proxied.driver_connection.in_transaction:
        cursor = proxied.dbapi_connection.cursor()
        cursor.execute("BEGIN")
        cursor.close()


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of an SQLite file URL so a fresh checkout just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    ensure_sqlite_dir(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # One connection per process: SQLite has one writer at a time, and two connections of
        # one process contending for it wait in SQLite's sleeping busy handler (1 ms, 2 ms,
        # 5 ms, ... steps) instead of in an asyncio queue. Other processes still use the
        # busy timeout.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
    elif parsed.get_backend_name() == "postgresql":
        # The outbox keeps up to 16 sends in flight, each recording its outcome, beside the
        # handlers: SQLAlchemy's 5 pooled connections made bursts open and close connections
        # by the dozen (measured by bench/welcome.py). 15 + 5 per worker keeps 4 workers under
        # PostgreSQL's default 100 connections.
        kwargs.setdefault("pool_size", 15)
        kwargs.setdefault("max_overflow", 5)
    # Statement parameters are customer texts, phone numbers and decrypted callbacks: keep them
    # out of exception messages, which reach logs and the inbox's last_error.
    kwargs.setdefault("hide_parameters", True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
    return engine


# The sessions this task (and the task that created it) opened, newest last. A child task
# copies the tuple, so it sees its parent's sessions only while they stay open.
_SESSIONS: ContextVar[tuple[weakref.ref[AsyncSession], ...]] = ContextVar(
    "sidekick_sessions", default=()
)


class TrackedSession(AsyncSession):
    """An AsyncSession that the current task remembers, so outside calls can refuse to run
    while it holds a transaction (see `in_transaction`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        alive = tuple(ref for ref in _SESSIONS.get() if ref() is not None)
        _SESSIONS.set((*alive, weakref.ref(self)))


def _holding(ref: weakref.ref[AsyncSession]) -> bool:
    session = ref()
    return session is not None and session.in_transaction()


def in_transaction() -> bool:
    """Whether the running task holds an open database transaction (and so a connection)."""
    return any(_holding(ref) for ref in _SESSIONS.get())


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per callback, command or request; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, class_=TrackedSession)


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime that always returns aware UTC values, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AppLock(Base):
    """One row per named lock; updating it serialises start-up steps across processes."""

    __tablename__ = "app_lock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


async def insert_ignore(session: AsyncSession, model: type[Base], **values: Any) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: create a row two workers may create at once.

    Never "get, then add": the second worker's INSERT would fail on the primary key. Here it
    waits for the first one's commit (PostgreSQL) or writer lock (SQLite) and does nothing.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(model).values(**values).on_conflict_do_nothing())


async def exclusive(session: AsyncSession, name: str) -> None:
    """Hold the named lock until the session's transaction ends (every process, any database).

    The row is created if missing, then updated: PostgreSQL keeps the row locked and SQLite
    its single writer lock until commit, so a second worker starting the same step waits here
    and then finds the work done. Check-then-insert steps (demo seeding, role seeding) run
    under it.
    """
    await insert_ignore(session, AppLock, name=name)
    await session.execute(update(AppLock).where(AppLock.name == name).values(taken_at=utcnow()))


async def claim_lease(
    session: AsyncSession, name: str, *, every: timedelta, now: datetime
) -> bool:
    """Take the named lease if nobody took it within `every`; True for the one taker.

    One conditional UPDATE, so of several workers asking at once exactly one wins (on SQLite
    and PostgreSQL alike); commit the session before doing the work, so that no transaction
    stays open while it runs. Periodic jobs that must run once across workers use it.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(AppLock).values(name=name).on_conflict_do_nothing())
    free = or_(AppLock.taken_at.is_(None), AppLock.taken_at <= now - every)
    result = await session.execute(
        update(AppLock).where(AppLock.name == name, free).values(taken_at=now)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def release_lease(session: AsyncSession, name: str) -> None:
    """Give a lease back early (the job failed), so the next asker may run it at once."""
    await session.execute(update(AppLock).where(AppLock.name == name).values(taken_at=None))
