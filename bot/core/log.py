"""Logging set-up; called once, from the entry point."""

from __future__ import annotations

import logging

from bot.core.settings import Settings

# Third-party loggers that stay at WARNING whatever the level: at DEBUG the database drivers
# write SQL parameters (decrypted callback bodies, message text), and the access log writes
# query strings (access tokens of the sandbox's fake WeCom; our callback line replaces it).
# Alembic says "Context impl SQLiteImpl" at every start-up check; bot.core.migrate logs one
# line saying what a migration did instead.
QUIET_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncio", "aiohttp.access", "alembic")


def configure_logging(settings: Settings) -> None:
    """One line per record, with time, level and module."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.root.level))
