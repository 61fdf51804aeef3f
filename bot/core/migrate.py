"""Alembic, driven from Python: `python -m bot db upgrade`, `db revision`, and the start-up check.

At start-up the server compares the database's revision with the code's head: on SQLite (the
embedded default) it applies what is missing, under a file lock so several workers starting at
once migrate once; on any other database it stops with one line naming the command to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from bot.core.db import create_engine, ensure_sqlite_dir

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_COMMAND = "python -m bot db upgrade"
T = TypeVar("T")


class SchemaError(Exception):
    """The database's schema is not the code's: its one-line message says what to run."""


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did: the revision before (None: no schema) and after."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        """Whether any migration ran."""
        return self.before != self.after

    def describe(self) -> str:
        """One bilingual line for the admin who ran it."""
        if self.before is None:
            return f"已创建数据库结构 schema created (revision {self.after})"
        if self.changed:
            return f"已升级数据库 upgraded from {self.before} to {self.after}"
        return f"数据库已是最新 already up to date (revision {self.after})"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head() -> str:
    """The revision the code expects (one head: migrations are linear)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads; merge them")
    return heads[0]


def previous(revision: str) -> str:
    """The revision a migration follows (a migration's test or bench starts from it)."""
    down = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision)
    if down is None or not isinstance(down.down_revision, str):
        raise ValueError(f"revision {revision} has no single predecessor")
    return down.down_revision


def _sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def current(database_url: str) -> str | None:
    """The database's revision; None when it has no schema (or an SQLite file is missing).

    Never creates a missing SQLite file (blocking: call it in a thread from async code).
    """
    path = _sqlite_file(database_url)
    if path is not None and not path.exists():
        return None

    def read(connection: Connection) -> tuple[str, ...]:
        return tuple(MigrationContext.configure(connection).get_current_heads())

    async def run() -> tuple[str, ...]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    heads = _run(run)
    return heads[0] if heads else None


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even under a running loop (tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def upgrade(database_url: str, revision: str = "head") -> Upgrade:
    """Apply migrations and say what changed (blocking: call it in a thread from async code)."""
    ensure_sqlite_dir(database_url)
    before = current(database_url)
    command.upgrade(alembic_config(database_url), revision)
    after = current(database_url)
    assert after is not None
    return Upgrade(before, after)


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive flock on the database's directory: one migrating process per machine.

    The directory, not a lock file beside the database, so nothing is left behind; SQLite's
    own locks are fcntl locks on the files, which flock does not touch.
    """
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def ensure_schema(database_url: str) -> Upgrade | None:
    """Make sure the schema is the code's head before serving.

    SQLite: apply missing migrations (under a lock; a second worker finds them applied) and
    return what was done. Anything else: raise SchemaError with the command to run; never
    change a shared database behind its operator's back.
    """
    path = _sqlite_file(database_url)
    if path is None:
        require_current(database_url)
        return None
    expected = head()
    ensure_sqlite_dir(database_url)
    with _directory_lock(path.parent):
        found = current(database_url)
        if found == expected:
            return None
        _refuse_unknown(found, expected)
        done = upgrade(database_url)
    logger.info("database schema: %s", done.describe())
    return done


def require_current(database_url: str) -> None:
    """Raise SchemaError unless the database is at the code's head (admin commands, PostgreSQL).

    A missing SQLite file stays missing.
    """
    expected = head()
    found = current(database_url)
    if found == expected:
        return
    _refuse_unknown(found, expected)
    if found is None:
        raise SchemaError(
            f"数据库尚未建表，请先运行 {UPGRADE_COMMAND} "
            f"(the database has no schema yet: run `{UPGRADE_COMMAND}`)"
        )
    raise SchemaError(
        f"数据库结构不是最新，请先运行 {UPGRADE_COMMAND} "
        f"(database schema is at {found}, the code needs {expected}: run `{UPGRADE_COMMAND}`)"
    )


def _refuse_unknown(found: str | None, expected: str) -> None:
    """A revision the code does not know: the database is newer than this code (a rollback)."""
    if found is None:
        return
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        script.get_revision(found)
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        raise SchemaError(
            f"数据库版本 {found} 比程序新，请使用对应版本的程序 "
            f"(database revision {found} is unknown to this code, whose head is {expected})"
        ) from None


def make_revision(database_url: str, message: str) -> None:
    """Autogenerate a migration from the models against an up-to-date database."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
