"""A handler still running at shutdown finishes on live resources: writer, database, session.

The task set was the first cleanup context, so it was cleaned up last: the inbox writer was
stopped and the engine disposed while late handlers still ran. Their `done` mark then waited
forever on a stopped writer (cancelled after 5 s), the row stayed `processing` and was
re-run after the next start, and the late reply never went out.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.app import create_app
from bot.core.db import create_engine
from bot.core.keys import ROUTER
from bot.domain.models import InboxItem
from bot.inbound.router import EventContext, Reply
from bot.sandbox.fake import FakeWeCom
from tests.conftest import make_settings
from tests.helpers import click_xml


async def test_a_late_handler_completes_during_shutdown(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom, aiohttp_client: Any
) -> None:
    app = create_app(make_settings(db_path, fake_server, reply_budget=0.05))

    async def slow(ctx: EventContext) -> Reply:
        await asyncio.sleep(0.5)
        return Reply("慢慢来")

    app[ROUTER].on("event", "click")(slow)
    client = await aiohttp_client(app)
    url = str(client.make_url("/wecom/callback"))
    status, _ = await fake.post_callback(url, click_xml("zhangsan"))
    assert status == 200
    await asyncio.wait_for(client.close(), 4)  # shutdown while the handler still runs

    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    async with async_sessionmaker(engine)() as session:
        rows = list((await session.execute(select(InboxItem))).scalars())
    await engine.dispose()
    assert [row.status for row in rows] == ["done"]
    assert fake.calls_to("message/send")
