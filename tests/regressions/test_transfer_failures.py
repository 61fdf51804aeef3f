"""WeCom refusing /assign or /transfer must reach the supervisor, and a failing page must not
lose the count of the pages before it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import AuditLog, Customer, FollowRelation, Staff
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say, texts_to


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


async def _parked(sm: async_sessionmaker[AsyncSession]) -> list[Effect]:
    async with sm() as session:
        return list(await session.scalars(select(Effect).where(Effect.status == "parked")))


async def test_assign_limit_is_a_failure_the_supervisor_hears_of(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    fake.fail_next("externalcontact/transfer_customer", 40129)
    await say(fake, "lead1", "/assign 李四 alice")
    (notice,) = [t for t in texts_to(fake, "lead1") if t.startswith("【未能完成】")]
    assert "90 天内最多被在职转接 2 次" in notice
    (parked,) = await _parked(sessionmaker)  # visible to admins, retryable
    assert (parked.kind, parked.last_errcode) == ("transfer", 40129)


async def test_transfer_of_a_member_still_employed(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _departed(sessionmaker, fake, 3)
    fake.fail_next("externalcontact/resigned/transfer_customer", 40097)
    await say(fake, "lead1", "/transfer dave alice")
    (notice,) = [t for t in texts_to(fake, "lead1") if t.startswith("【未能完成】")]
    assert "第 1-3 位客户" in notice
    assert "还没有离职" in notice
    assert "/assign" in notice
    assert "90 天" not in notice  # the 在职 limit is not the reason here


async def test_transfer_failing_on_the_second_page_reports_the_first(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _departed(sessionmaker, fake, 150)
    fake.fail_next("externalcontact/resigned/transfer_customer", 40003, after=1)
    await say(fake, "lead1", "/transfer dave alice")
    texts = texts_to(fake, "lead1")
    assert any(t.startswith("【转接结果】") and "已发起 100 位" in t for t in texts)
    (notice,) = [t for t in texts if t.startswith("【未能完成】")]
    assert "第 101-150 位客户" in notice
    assert "errcode 40003" in notice


async def test_transfer_success_is_ok(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await _departed(sessionmaker, fake, 2)
    reply = await say(fake, "lead1", "/离职继承 dave alice")
    assert "2 位客户" in reply
    assert "24 小时" in reply
    assert await _results(sessionmaker, "cmd:transfer") == ["ok"]
    (result,) = texts_to(fake, "lead1")
    assert "已发起 2 位" in result
