"""/follow read glued times as note text, and silently kept unreadable times ("25点") as text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Followup
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def _followups(sm: async_sessionmaker[AsyncSession]) -> list[Followup]:
    async with sm() as session:
        return list((await session.scalars(select(Followup).order_by(Followup.id))).all())


async def test_glued_time_is_the_due_time(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reply = await say(fake, "alice", "/follow 张三 回电话明天10点")
    assert "明天 10:00 提醒你" in reply
    reply = await say(fake, "alice", "/跟进 张三 后天下午3点寄样品")
    assert "后天 15:00 提醒你" in reply
    items = await _followups(sessionmaker)
    assert [(f.note, f.due_at is not None) for f in items] == [("回电话", True), ("寄样品", True)]


async def test_month_end(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/follow 张三 对账 月底")
    assert "提醒你" in reply
    assert "对账" in reply


async def test_unreadable_time_is_refused(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for text, reason in [
        ("/follow 张三 回电 25点", "没有这个时间"),
        ("/follow 张三 回电 明天25点", "没有这个时间"),
        ("/follow 张三 回电 下周八", "看不懂时间"),
        ("/follow 张三 回电 2-30", "没有这一天"),
    ]:
        reply = await say(fake, "alice", text)
        assert reason in reply, text
        assert "用法：/follow" in reply
    assert await _followups(sessionmaker) == []


async def test_past_time_is_refused(fake: FakeWeCom, team: Any) -> None:
    assert "已经过去了" in await say(fake, "alice", "/follow 张三 回电 2020-01-01 10:00")
