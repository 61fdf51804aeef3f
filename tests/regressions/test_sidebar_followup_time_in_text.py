"""The sidebar stored "明天下午3点回访" with no due time, while /follow understood it.

One rep action, one reader of times: the sidebar's follow-up box reads a time inside the text
exactly as the command does, when the due field is left empty.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Followup
from bot.sandbox.fake import FakeWeCom
from tests.sidebar.conftest import Client, sign_in

TZ = ZoneInfo("Asia/Shanghai")


async def test_time_in_the_text_is_the_due_time(
    client: Client, fake: FakeWeCom, sidebar_team: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    headers = {"X-CSRF-Token": await sign_in(client, fake, "alice")}
    url = "/sidebar/api/customers/wmalice000001/followups"
    resp = await client.post(url, json={"note": "明天下午3点回访"}, headers=headers)
    assert resp.status == 201
    body = (await resp.json())["followup"]
    assert body["due_text"] == "明天 15:00"
    assert body["note"] == "回访"
    resp = await client.post(url, json={"note": "寄样品", "due_at": "后天上午"}, headers=headers)
    assert (await resp.json())["followup"]["due_text"] == "后天 09:00"
    async with sessionmaker() as session:
        rows = list(await session.scalars(select(Followup).order_by(Followup.id)))
    assert [(f.note, f.due_at is not None) for f in rows] == [("回访", True), ("寄样品", True)]
    assert rows[0].due_at is not None
    assert rows[0].due_at.astimezone(TZ).hour == 15
