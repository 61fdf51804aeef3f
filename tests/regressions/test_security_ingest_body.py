"""The ingest body is UTF-8 JSON lines whatever charset the request declares.

An unknown declared charset (`Content-Type: text/plain; charset=nope`) used to raise
LookupError inside request.text() and answer 500; a body that is not UTF-8 gets a clear 400.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Message
from tests.conftest import INGEST_TOKEN
from tests.sidebar.conftest import Client

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}
LINE = json.dumps({"msgid": "m1", "action": "send", "from": "wo1", "tolist": ["x"],
                   "msgtype": "image"})  # fmt: skip


async def test_unknown_declared_charset_is_read_as_utf8(client: Client) -> None:
    headers = {**AUTH, "Content-Type": "text/plain; charset=nope"}
    resp = await client.post("/ingest/messages", data=LINE.encode(), headers=headers)
    assert resp.status == 200
    assert (await resp.json())["skipped"] == 1


async def test_body_that_is_not_utf8_is_400(
    client: Client, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for content_type in ("application/x-ndjson", "text/plain; charset=utf-16"):
        headers = {**AUTH, "Content-Type": content_type}
        resp = await client.post("/ingest/messages", data=LINE.encode("utf-16"), headers=headers)
        assert resp.status == 400
        assert "UTF-8" in (await resp.json())["error"]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
