"""The scale-out database: migrations and the callback pipeline on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app import create_app
from bot.core import db
from bot.core.keys import ROUTER
from bot.domain.models import Customer, InboxItem
from bot.inbound.router import EventContext, Reply
from bot.sandbox.fake import FakeWeCom
from tests.conftest import make_settings
from tests.helpers import click_xml, reply_text


async def test_models_round_trip_utc_and_json(pg_url: str) -> None:
    engine = db.create_engine(pg_url)
    sessionmaker = db.create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        session.add(Customer(external_userid="wm1", name="王女士"))
    async with sessionmaker() as session:
        customer = await session.get(Customer, "wm1")
        assert customer is not None
        assert customer.created_at.tzinfo is not None
    await engine.dispose()


async def test_two_instances_on_postgres_and_redis_process_once(
    pg_url: str,
    redis_url: str,
    fake_server: TestServer,
    fake: FakeWeCom,
    aiohttp_client: Any,
    tmp_path: Any,
) -> None:
    conn = aioredis.from_url(redis_url)
    await conn.flushdb()
    await conn.aclose()
    handled: list[str] = []
    clients = []
    for _ in range(2):
        settings = make_settings(
            tmp_path / "unused.db", fake_server, database_url=pg_url, redis_url=redis_url
        )
        app = create_app(settings)

        async def counting(ctx: EventContext) -> Reply:
            handled.append(ctx.event.from_user)
            return Reply("收到")

        app[ROUTER].on("event", "click")(counting)
        clients.append(await aiohttp_client(app))
    urls = [str(c.make_url("/wecom/callback")) for c in clients]
    for n in range(10):
        xml = click_xml(f"pg{n}", 1700000000 + n)
        answers = await asyncio.gather(*(fake.post_callback(u, xml) for u in urls * 2))
        assert [s for s, _ in answers] == [200] * 4
        assert sum(1 for _, body in answers if reply_text(body) == "收到") == 1
    assert sorted(handled) == sorted(f"pg{n}" for n in range(10))
    engine = db.create_engine(pg_url)
    async with db.create_sessionmaker(engine)() as session:
        rows = list((await session.execute(select(InboxItem))).scalars())
    await engine.dispose()
    assert len(rows) == 10
    assert {r.status for r in rows} == {"done"}
