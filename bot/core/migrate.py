"""Alembic, driven from Python: `python -m bot db upgrade` and `python -m bot db revision`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.core.db import ensure_sqlite_dir

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations (blocking: call it in a thread from async code)."""
    ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def make_revision(database_url: str, message: str) -> None:
    """Autogenerate a migration from the models against an up-to-date database."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
