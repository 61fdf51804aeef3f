"""De-duplication, the reply budget and retries of the durable inbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from bot.app import create_app
from bot.core.db import utcnow
from bot.core.keys import DB, ROUTER
from bot.domain.models import InboxItem
from bot.inbound import dispatch
from bot.inbound.router import EventContext, Reply
from bot.sandbox.fake import FakeWeCom
from tests.conftest import make_settings
from tests.helpers import click_xml, message_content, reply_text, sent_to


async def _rows(app: Any) -> list[InboxItem]:
    async with app[DB]() as session:
        return list((await session.execute(select(InboxItem).order_by(InboxItem.id))).scalars())


async def test_a_callback_delivered_three_times_is_processed_once(
    client: Any, fake: FakeWeCom
) -> None:
    xml = fake.xml_app_text("zhangsan", "你好")
    answers = [await fake.post_callback(fake.callback_url or "", xml) for _ in range(3)]
    assert [status for status, _ in answers] == [200, 200, 200]
    texts = [reply_text(body) for _, body in answers]
    assert texts[0]
    assert texts[1:] == ["", ""]
    rows = await _rows(client.app)
    assert len(rows) == 1
    assert rows[0].status == "done"
    assert rows[0].attempts == 1


@pytest.fixture
async def clean_redis(redis_url: str) -> str:
    conn = aioredis.from_url(redis_url)
    await conn.flushdb()
    await conn.aclose()
    return redis_url


async def test_two_instances_sharing_redis_and_db_process_once(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom, clean_redis: str, aiohttp_client: Any
) -> None:
    calls: list[str] = []
    clients = []
    for _ in range(2):
        app = create_app(make_settings(db_path, fake_server, redis_url=clean_redis))

        async def counting(ctx: EventContext) -> Reply:
            calls.append(ctx.event.from_user)
            return Reply("收到")

        app[ROUTER].on("event", "click")(counting)
        clients.append(await aiohttp_client(app))
    urls = [str(c.make_url("/wecom/callback")) for c in clients]
    for n in range(20):  # 20 distinct events, each delivered to both instances at once
        xml = click_xml(f"user{n}", 1700000000 + n)
        answers = await asyncio.gather(*(fake.post_callback(url, xml) for url in urls * 2))
        assert all(status == 200 for status, _ in answers)
        assert sum(1 for _, body in answers if reply_text(body) == "收到") == 1
    assert sorted(calls) == sorted(f"user{n}" for n in range(20))
    rows = await _rows(clients[0].app)
    assert len(rows) == 20
    assert {r.status for r in rows} == {"done"}


async def test_a_slow_handler_answers_later_through_message_send(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom, aiohttp_client: Any
) -> None:
    app = create_app(make_settings(db_path, fake_server, reply_budget=0.05))

    async def slow(ctx: EventContext) -> Reply:
        await asyncio.sleep(0.3)
        return Reply("慢慢来的回复")

    app[ROUTER].on("event", "click")(slow)
    client = await aiohttp_client(app)
    status, body = await fake.post_callback(
        str(client.make_url("/wecom/callback")), click_xml("li")
    )
    assert (status, body) == (200, b"")
    for _ in range(100):
        if sent_to(fake, "li"):
            break
        await asyncio.sleep(0.02)
    assert [message_content(c) for c in sent_to(fake, "li")] == ["慢慢来的回复"]
    assert [r.status for r in await _rows(app)] == ["done"]


async def test_a_failing_handler_is_retried_then_parked(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom, aiohttp_client: Any
) -> None:
    app = create_app(make_settings(db_path, fake_server, inbox_max_attempts=3))
    attempts: list[bool] = []

    async def broken(ctx: EventContext) -> Reply:
        attempts.append(ctx.live)
        raise RuntimeError("downstream exploded")

    app[ROUTER].on("event", "click")(broken)
    client = await aiohttp_client(app)
    status, _ = await fake.post_callback(
        str(client.make_url("/wecom/callback")), click_xml("wang")
    )
    assert status == 200
    (row,) = await _rows(app)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "downstream exploded" in row.last_error
    assert row.next_attempt_at is not None
    assert row.next_attempt_at > utcnow()

    assert await dispatch.sweep(app) == 0  # not due yet: back-off
    for expected in ("pending", "parked"):
        async with app[DB].begin() as session:  # let the clock pass the back-off
            await session.execute(
                update(InboxItem).values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
        assert await dispatch.sweep(app) == 1
        (row,) = await _rows(app)
        assert row.status == expected
    assert attempts == [True, False, False]
    assert await dispatch.sweep(app) == 0  # parked rows stay parked, visible to admins
