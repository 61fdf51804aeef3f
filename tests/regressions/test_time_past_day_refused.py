"""`/follow 王女士 回访 昨天10点` set a reminder for today 10:00 and kept "昨天" in the note.

"昨天" was no time word: the parser skipped it and read the bare "10点" (today, or tomorrow
once past). An explicit time in the past must be refused, on both faces, and nothing stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Followup
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say
from tests.sidebar.conftest import Client, sign_in

Maker = async_sessionmaker[AsyncSession]


async def _followups(sm: Maker) -> list[Followup]:
    async with sm() as session:
        return list(await session.scalars(select(Followup)))


@pytest.mark.parametrize(
    "text",
    ["/follow 张三 回访 昨天10点", "/follow 张三 回访昨天10点", "/跟进 张三 回访 前天下午",
     "/follow 张三 回访 昨晚8点", "/follow 张三 回访 2小时前"],
)  # fmt: skip
async def test_command_refuses_a_past_day(
    fake: FakeWeCom, team: Any, sessionmaker: Maker, text: str
) -> None:
    reply = await say(fake, "alice", text)
    assert "已经过去了" in reply
    assert "用法：/follow" in reply
    assert await _followups(sessionmaker) == []


async def test_a_past_remark_at_the_start_is_still_note_text(
    fake: FakeWeCom, team: Any, sessionmaker: Maker
) -> None:
    reply = await say(fake, "alice", "/follow 张三 昨天已报价，等客户回复")
    assert "已记下跟进" in reply
    (item,) = await _followups(sessionmaker)
    assert (item.note, item.due_at) == ("昨天已报价，等客户回复", None)


async def test_sidebar_refuses_a_past_day(
    client: Client, fake: FakeWeCom, sidebar_team: None, sessionmaker: Maker
) -> None:
    headers = {"X-CSRF-Token": await sign_in(client, fake, "alice")}
    url = "/sidebar/api/customers/wmalice000001/followups"
    for body in ({"note": "回访", "due_at": "昨天10点"}, {"note": "回访 昨天10点"}):
        resp = await client.post(url, json=body, headers=headers)
        assert resp.status == 400, body
        assert "已经过去了" in (await resp.json())["message"]
    assert await _followups(sessionmaker) == []
