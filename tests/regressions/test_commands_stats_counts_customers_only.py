"""/stats counted a rep's sidebar look-ups (「获取建议」, stored as source "sidebar") as customer
messages, which lowered the auto-reply rate. Only what customers sent (kf, archive) counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Message
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def test_sidebar_lookups_are_not_customer_messages(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker.begin() as session:
        session.add_all(
            [
                Message(source="kf", external_userid="c1", text="q", auto_replied=True),
                Message(source="archive", external_userid="c1", text="q"),
                *[Message(source="sidebar", external_userid="c1", text="q") for _ in range(6)],
            ]
        )
    reply = await say(fake, "lead1", "/stats 今天")
    assert "客户消息：2" in reply
    assert "自动回复率：50%" in reply
