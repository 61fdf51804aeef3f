"""A member who left the corp (inactive) could still run slash-commands, while the sidebar
already refused them. The dispatcher now refuses them before any command runs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import AuditLog, Note, Staff
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


@pytest.mark.parametrize("text", ["/note 张三 离职前的备注", "/help", "/stats"])
async def test_departed_member_is_refused(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession], text: str
) -> None:
    who = "lead1" if text == "/stats" else "alice"
    async with sessionmaker.begin() as session:
        await session.execute(update(Staff).where(Staff.userid == who).values(active=False))
    reply = await say(fake, who, text)
    assert "已停用或已离职" in reply
    async with sessionmaker() as session:
        assert list(await session.scalars(select(Note))) == []
        results = list(await session.scalars(select(AuditLog.result)))
    assert results == ["forbidden"]


async def test_departed_in_wecom_is_refused(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    fake.add_member("carol", "Carol", [2], status=5)  # the next sync finds her gone
    async with sessionmaker.begin() as session:
        await session.execute(update(Staff).where(Staff.userid == "carol").values(synced_at=None))
    assert "已停用或已离职" in await say(fake, "carol", "/todo")
