"""The reply budget counts from the request's arrival; /healthz says 503 when the DB is gone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import text

from bot.app import create_app
from bot.core.keys import ENGINE, ROUTER
from bot.inbound import dispatch
from bot.inbound.router import EventContext, Reply
from bot.sandbox.fake import FakeWeCom
from bot.wecom.crypto import parse_plain
from bot.wecom.events import Event
from tests.conftest import make_settings
from tests.helpers import click_xml, message_content, sent_to

CLICK = click_xml("late")


async def test_time_spent_before_the_handler_counts_against_the_budget(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom, aiohttp_client: Any
) -> None:
    app = create_app(make_settings(db_path, fake_server, reply_budget=1.0))

    async def quick(ctx: EventContext) -> Reply:
        await asyncio.sleep(0.05)
        return Reply("稍后送达")

    app[ROUTER].on("event", "click")(quick)
    await aiohttp_client(app)
    event = Event(fields=parse_plain(CLICK), xml=CLICK.decode())
    # The request arrived 2 s ago (a slow commit under load): the budget is already spent,
    # so even a quick handler's answer goes out through message/send.
    passive = await dispatch.accept(app, event, received=time.perf_counter() - 2.0)
    assert passive is None
    for _ in range(100):
        if sent_to(fake, "late"):
            break
        await asyncio.sleep(0.02)
    assert [message_content(c) for c in sent_to(fake, "late")] == ["稍后送达"]


async def test_health_is_503_json_when_the_database_is_broken(client: Any) -> None:
    assert (await client.get("/healthz")).status == 200
    async with client.app[ENGINE].begin() as conn:
        await conn.execute(text("DROP TABLE inbox"))
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert (body["ok"], body["database"]) == (False, "unavailable")
