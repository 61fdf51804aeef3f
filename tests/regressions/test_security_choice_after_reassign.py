"""A pending "/1" answer is re-checked: it cannot act on a customer the caller lost meanwhile.

(Guard test: the dispatcher re-runs the role check and lookup.resolve re-runs
require_customer_access for the chosen id; this keeps it that way.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import FollowRelation, Note, Staff
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


def _number_of(question: str, name: str) -> str:
    """The "/N" that the numbered question offers for the customer called name."""
    line = next(x for x in question.splitlines()[1:] if name in x)
    return line.split(" ", 1)[0]


async def test_choice_for_a_customer_moved_to_another_rep_is_refused(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    question = await say(fake, "alice", "/note 张 电话联系")
    assert "有 2 位客户匹配" in question
    async with sessionmaker.begin() as session:
        moved = update(FollowRelation).where(FollowRelation.external_userid == "c1")
        await session.execute(moved.values(userid="bob"))
    assert "这不是你的客户" in await say(fake, "alice", _number_of(question, "张三"))
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Note)) == 0


async def test_choice_after_losing_the_role_is_refused(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker.begin() as session:  # bob supervises department 1 for a while
        await session.execute(update(Staff).where(Staff.userid == "bob").values(role="supervisor"))
    question = await say(fake, "bob", "/note 张 电话联系")
    assert "有 2 位客户匹配" in question
    async with sessionmaker.begin() as session:
        await session.execute(update(Staff).where(Staff.userid == "bob").values(role="rep"))
    assert "这不是你的客户" in await say(fake, "bob", _number_of(question, "张"))
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Note)) == 0
