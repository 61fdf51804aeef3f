"""A time at the start of a follow-up with an impossible clock ("明天25点 回访") was read as the
day alone (due tomorrow 09:00) with "25点" left in the note; it is refused like "回访 明天25点"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Followup
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def test_leading_day_with_bad_clock_is_refused(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for text in (
        "/follow 张三 明天25点 回访",
        "/follow 张三 明天 25点 回访",
        "/follow 张三 明天25点回访",
        "/follow 张三 明天 10:99 回访",
    ):
        reply = await say(fake, "alice", text)
        assert "没有这个时间" in reply, (text, reply)
        assert "用法：/follow" in reply
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Followup)) == 0


async def test_leading_day_with_good_clock_still_reads(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reply = await say(fake, "alice", "/follow 张三 明天 10点30分 回访")
    assert "明天 10:30 提醒你" in reply
    reply = await say(fake, "alice", "/follow 张三 明天 回访 3个样品")
    assert "明天 09:00 提醒你" in reply
    async with sessionmaker() as session:
        notes = list(await session.scalars(select(Followup.note).order_by(Followup.id)))
    assert notes == ["回访", "回访 3个样品"]
