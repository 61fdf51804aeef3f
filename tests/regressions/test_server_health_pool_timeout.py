"""/healthz answers 503 JSON when every pooled connection is taken, never a 500 or a hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from bot import health
from bot.core import db
from bot.core.clock import Clock
from bot.core.keys import CLOCK, DB


async def test_pool_timeout_is_a_503_json(db_path: Path, aiohttp_client: Any) -> None:
    engine = db.create_engine(
        f"sqlite+aiosqlite:///{db_path}", pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    app = web.Application()
    app[DB] = db.create_sessionmaker(engine)
    app[CLOCK] = Clock()
    app.add_routes(health.routes)
    client = await aiohttp_client(app)
    try:
        assert (await client.get("/healthz")).status == 200
        async with engine.connect() as held:  # the one connection, busy elsewhere
            await held.exec_driver_sql("SELECT 1")
            resp = await client.get("/healthz")
            assert resp.status == 503
            assert resp.content_type == "application/json"
            body = await resp.json()
            assert (body["ok"], body["database"]) == (False, "busy")
        assert (await client.get("/healthz")).status == 200
    finally:
        await engine.dispose()
