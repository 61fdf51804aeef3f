"""Alembic environment: bot's tables and the knowledge base's, on an async engine."""

from __future__ import annotations

import asyncio
import threading

from alembic import context
from sqlalchemy.engine import Connection

import bot.domain.models  # noqa: F401 - registers the tables on Base.metadata
from bot.core.db import Base, create_engine
from knowledge.store import KBBase

target_metadata = [Base.metadata, KBBase.metadata]


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_online())
    else:
        # Called from async code (a test, a benchmark): run on a thread with its own loop.
        worker = threading.Thread(target=lambda: asyncio.run(_online()))
        worker.start()
        worker.join()
