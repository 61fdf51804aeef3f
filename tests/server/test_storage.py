"""Storage defaults: SQLite in WAL with foreign keys, and migrations that match the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core import db, migrate
from bot.domain.models import Note


async def test_sqlite_runs_in_wal_with_foreign_keys(db_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    sessionmaker = db.create_sessionmaker(engine)
    with pytest.raises(IntegrityError):  # a note about a customer who does not exist
        async with sessionmaker.begin() as session:
            session.add(Note(external_userid="nobody", userid="u", text="x"))
    await engine.dispose()


async def test_migrations_match_the_models(db_path: Path) -> None:
    """`alembic check`: autogenerate finds nothing to add, so no model change lacks a migration."""
    config = migrate.alembic_config(f"sqlite+aiosqlite:///{db_path}")
    await asyncio.to_thread(command.check, config)


def test_a_fresh_database_upgrades_from_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'fresh.db'}"
    migrate.upgrade(url)  # creates the directory too, as `make run` needs on a fresh clone
    assert (tmp_path / "nested" / "fresh.db").exists()
