"""Live streams: a session holds a few per worker, and one event costs one access check.

One session opened 1,000 live streams in 5.8 s (each with its own cache subscription), and each
event ran the database access check once per stream: only 737 of them got the next event
within 5 s.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import event

from bot.core.keys import CACHE, ENGINE
from bot.domain.pipeline import sidebar_channel
from bot.sandbox.fake import FakeWeCom
from sidebar import live
from tests.sidebar.conftest import Client, sign_in

pytestmark = pytest.mark.usefixtures("sidebar_team")

ALICE_C = "wmalice000001"
EVENTS = f"/sidebar/api/customers/{ALICE_C}/events"


async def _open(client: Client) -> Any:
    resp = await client.get(EVENTS)
    assert resp.status == 200
    assert b"connected" in await resp.content.readuntil(b"\n\n")
    return resp


async def _publish(client: Client, text: str) -> None:
    payload = json.dumps({"type": "customer_message", "source": "kf", "text": text})
    await client.app[CACHE].publish(sidebar_channel(ALICE_C), payload)


async def _next(resp: Any) -> bytes:
    data: bytes = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    return data


async def test_one_session_holds_a_few_streams_the_oldest_ends(
    client: Client, fake: FakeWeCom
) -> None:
    await sign_in(client, fake, "alice")
    streams = [await _open(client) for _ in range(live.MAX_PER_SESSION)]
    newest = await _open(client)  # one more: the oldest ends, the newest works
    assert await asyncio.wait_for(streams[0].content.read(), 5) == b""
    await _publish(client, "hello")
    for resp in [*streams[1:], newest]:
        assert b"hello" in await _next(resp)
    for resp in [*streams, newest]:
        resp.close()


async def test_an_event_costs_one_check_however_many_streams(
    client: Client, fake: FakeWeCom
) -> None:
    await sign_in(client, fake, "alice")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = client.app[ENGINE].sync_engine
    first = await _open(client)
    event.listen(engine, "before_cursor_execute", count)
    await _publish(client, "one")
    assert b"one" in await _next(first)
    one_stream = len(statements)

    more = [await _open(client) for _ in range(live.MAX_PER_SESSION - 1)]
    statements.clear()
    await _publish(client, "many")
    for resp in [first, *more]:
        assert b"many" in await _next(resp)
    event.remove(engine, "before_cursor_execute", count)
    assert one_stream > 0
    assert len(statements) == one_stream
    for resp in [first, *more]:
        resp.close()
