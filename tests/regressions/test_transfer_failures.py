"""WeCom refusing /assign or /transfer was audited as "ok", and a failing page lost the count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import AuditLog, Customer, FollowRelation, Staff
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def _results(sm: async_sessionmaker[AsyncSession], action: str) -> list[str]:
    async with sm() as session:
        rows = await session.scalars(select(AuditLog).where(AuditLog.action == action))
        return [r.result for r in rows.all()]


async def _departed(sm: async_sessionmaker[AsyncSession], fake: FakeWeCom, count: int) -> None:
    async with sm.begin() as session:
        session.add(Staff(userid="dave", departments=[1], role="rep", active=False))
        for i in range(count):
            session.add(Customer(external_userid=f"d{i:03}", name=f"客户{i}"))
            await session.flush()
            session.add(FollowRelation(userid="dave", external_userid=f"d{i:03}"))
            fake.add_contact(f"d{i:03}", follow_user=["dave"])


async def test_assign_limit_is_a_failure_in_the_audit(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    fake.fail_next("externalcontact/transfer_customer", 40129)
    reply = await say(fake, "lead1", "/assign 李四 alice")
    assert reply.startswith("转接失败")
    assert "90 天内最多被在职转接 2 次" in reply
    assert await _results(sessionmaker, "cmd:assign") == ["wecom_error"]


async def test_transfer_of_a_member_still_employed(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _departed(sessionmaker, fake, 3)
    fake.fail_next("externalcontact/resigned/transfer_customer", 40097)
    reply = await say(fake, "lead1", "/transfer dave alice")
    assert "已发起 0 位" in reply
    assert "其余 3 位未转" in reply
    assert "还没有离职" in reply
    assert "/assign" in reply
    assert "90 天" not in reply  # the 在职 limit is not the reason here
    assert await _results(sessionmaker, "cmd:transfer") == ["wecom_error"]


async def test_transfer_failing_on_the_second_page_reports_the_first(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _departed(sessionmaker, fake, 150)
    fake.fail_next("externalcontact/resigned/transfer_customer", 40003, after=1)
    reply = await say(fake, "lead1", "/transfer dave alice")
    assert "已发起 100 位" in reply
    assert "其余 50 位未转" in reply
    assert "errcode 40003" in reply


async def test_transfer_success_is_ok(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _departed(sessionmaker, fake, 2)
    reply = await say(fake, "lead1", "/离职继承 dave alice")
    assert "已发起 2 位" in reply
    assert "24 小时" in reply
    assert await _results(sessionmaker, "cmd:transfer") == ["ok"]
