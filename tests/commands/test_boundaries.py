"""Ownership on every command path: a rep only acts on their own customers and follow-ups,
a supervisor only within their departments. Nothing reaches WeCom or the database otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import AuditLog, CustomerTag, Escalation, Followup, Note
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say

# bob (rep, dept 1) on alice's customer 张三 / c1, by name, remark, phone tail and id.
REP_ON_OTHERS = [
    "/tag 张三 VIP", "/tag c1 VIP", "/untag 张三 VIP", "/untag c1 VIP", "/note 张三 hi",
    "/note c1 hi", "/follow 张三 回电 明天10点", "/follow c1 回电", "/escalate 张三 投诉",
    "/escalate c1 投诉", "/备注 张三 hi", "/跟进 c1 回电", "/升级 c1 投诉",
]  # fmt: skip


async def _counts(sm: async_sessionmaker[AsyncSession]) -> tuple[int, ...]:
    async with sm() as session:
        return tuple(
            [
                int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (CustomerTag, Note, Followup, Escalation)
            ]
        )


@pytest.mark.parametrize("text", REP_ON_OTHERS)
async def test_rep_cannot_act_on_another_reps_customer(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession], text: str
) -> None:
    before = await _counts(sessionmaker)
    assert await say(fake, "bob", text) == "这不是你的客户"
    assert await _counts(sessionmaker) == before
    assert not fake.calls_to("externalcontact/mark_tag")
    assert not fake.calls_to("message/send")


@pytest.mark.parametrize("ref", ["张总", "1234", "张"])
async def test_fuzzy_references_never_reach_others_customers(
    fake: FakeWeCom, team: Any, ref: str
) -> None:
    reply = await say(fake, "bob", f"/note {ref} hi")
    assert "找不到" in reply
    assert "张三" not in reply


async def test_rep_cannot_close_another_reps_followup(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await say(fake, "alice", "/follow 张三 回电 明天10点")
    async with sessionmaker() as session:
        item = (await session.scalars(select(Followup))).one()
    assert "这不是你的跟进" in await say(fake, "bob", f"/done {item.id}")
    assert "这不是你的跟进" in await say(fake, "carol", f"/完成 {item.id}")
    async with sessionmaker() as session:
        still = await session.get(Followup, item.id)
    assert still is not None
    assert still.done_at is None


async def test_supervisor_closes_team_followups_only(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await say(fake, "alice", "/follow 张三 回电")
    await say(fake, "carol", "/follow 王五 回电")
    async with sessionmaker() as session:
        mine, other = (await session.scalars(select(Followup).order_by(Followup.id))).all()
    assert "这不是你的跟进" in await say(fake, "lead1", f"/done {other.id}")
    assert "已完成" in await say(fake, "lead1", f"/done {mine.id}")


async def test_rep_resolve_is_refused_and_audited(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await say(fake, "alice", "/escalate 张三 投诉")
    assert "需要主管权限" in await say(fake, "alice", "/resolve 1 自己解决了")
    assert "需要主管权限" in await say(fake, "alice", "/解决 1 自己解决了")
    async with sessionmaker() as session:
        escalation = (await session.scalars(select(Escalation))).one()
        rows = await session.scalars(select(AuditLog).where(AuditLog.action == "cmd:resolve"))
        results = [r.result for r in rows.all()]
    assert escalation.status == "open"
    assert results == ["forbidden", "forbidden"]


@pytest.mark.parametrize(
    "text", ["/tag 王五 VIP", "/note 王五 hi", "/follow 王五 回电", "/escalate 王五 x",
             "/assign 王五 alice"],
)  # fmt: skip
async def test_supervisor_outside_department_is_refused(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession], text: str
) -> None:
    before = await _counts(sessionmaker)
    assert await say(fake, "lead1", text) == "这不是你的客户"
    assert await _counts(sessionmaker) == before


async def test_supervisor_acts_on_team_customer_through_the_reps_relation(
    fake: FakeWeCom, team: Any
) -> None:
    assert "已给 李四 打上：VIP" in await say(fake, "lead1", "/tag 李四 VIP")
    (call,) = fake.calls_to("externalcontact/mark_tag")
    assert call["json"]["userid"] == "bob"


async def test_admin_reaches_every_department(fake: FakeWeCom, team: Any) -> None:
    assert "已给 王五 打上：VIP" in await say(fake, "boss", "/tag 王五 VIP")


async def test_supervisor_without_departments_is_told_why_the_team_is_empty(
    fake: FakeWeCom, team: Any
) -> None:
    await say(fake, "boss", "/role dora 主管")
    for text in ("/stats", "/escalations", "/overdue"):
        assert "你还没有设置部门" in await say(fake, "dora", text), text
    assert "你还没有设置部门" not in await say(fake, "lead1", "/overdue")
