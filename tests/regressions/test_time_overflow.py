"""A due time of "999999999小时后" raised OverflowError: HTTP 500 in the sidebar and 「出错了」
from /follow. It is a time, just an impossible one: both faces must say so clearly."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Followup
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say
from tests.sidebar.conftest import Client, sign_in

HUGE = ["999999999小时后", "99999999999天后", "1000个月后", "9999-12-31T23:00"]


async def _count(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as session:
        return int(await session.scalar(select(func.count()).select_from(Followup)) or 0)


@pytest.mark.parametrize("when", HUGE)
async def test_command_says_too_far(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession], when: str
) -> None:
    reply = await say(fake, "alice", f"/follow 张三 回访 {when}")
    assert "出错了" not in reply
    assert "太远了" in reply
    assert await _count(sessionmaker) == 0


async def test_sidebar_says_too_far(
    client: Client, fake: FakeWeCom, sidebar_team: None,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    headers = {"X-CSRF-Token": await sign_in(client, fake, "alice")}
    url = "/sidebar/api/customers/wmalice000001/followups"
    for when in HUGE:
        for body in ({"note": "回访", "due_at": when}, {"note": f"回访 {when}"}):
            resp = await client.post(url, json=body, headers=headers)
            assert resp.status == 400, (body, resp.status)
            assert "太远了" in (await resp.json())["message"]
    assert await _count(sessionmaker) == 0
