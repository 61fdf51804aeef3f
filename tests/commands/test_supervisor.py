"""Supervisor and admin commands, and the role boundaries around them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import utcnow
from bot.domain.models import Customer, Escalation, FollowRelation, Followup, Staff, Tag
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say, texts_to


@pytest.mark.parametrize(
    "text",
    ["/assign 张三 bob", "/transfer bob alice", "/stats", "/escalations", "/resolve 1 ok",
     "/overdue", "/misses", "/分配 张三 bob", "/tagnew 新标签"],
)  # fmt: skip
async def test_rep_is_refused_supervisor_commands(fake: FakeWeCom, team: Any, text: str) -> None:
    reply = await say(fake, "alice", text)
    assert "需要主管权限，你目前是客服" in reply
    assert not fake.calls_to("externalcontact/transfer_customer")


@pytest.mark.parametrize("text", ["/role alice 主管", "/tagsync"])
async def test_supervisor_is_refused_admin_commands(fake: FakeWeCom, team: Any, text: str) -> None:
    assert "需要管理员权限，你目前是主管" in await say(fake, "lead1", text)


async def test_assign(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "lead1", "/assign 李四 alice")
    assert "已提交转接：李四 → Alice（alice）" in reply
    (call,) = fake.calls_to("externalcontact/transfer_customer")
    assert call["json"]["handover_userid"] == "bob"
    assert call["json"]["takeover_userid"] == "alice"
    assert call["json"]["external_userid"] == ["c3"]
    (result,) = [t for t in texts_to(fake, "lead1") if t.startswith("【转接结果】")]
    assert "已发起 1 位" in result


async def test_assign_outside_team_is_refused(fake: FakeWeCom, team: Any) -> None:
    assert "不在你的部门" in await say(fake, "lead1", "/assign 李四 carol")
    assert "这不是你的客户" in await say(fake, "lead1", "/assign 王五 alice")


async def test_assign_surfaces_limit(fake: FakeWeCom, team: Any) -> None:
    fake.fail_next("externalcontact/transfer_customer", 40129)
    await say(fake, "lead1", "/assign 李四 alice")
    (notice,) = [t for t in texts_to(fake, "lead1") if t.startswith("【未能完成】")]
    assert "把客户 李四 转给 Alice（alice）" in notice
    assert "errcode 40129" in notice
    assert "90 天内最多被在职转接 2 次" in notice


async def test_assign_per_customer_failure(fake: FakeWeCom, team: Any) -> None:
    fake.state.contacts["c3"]["follow_user"].clear()  # WeCom no longer sees bob ↔ 李四
    await say(fake, "lead1", "/assign 李四 alice")
    (result,) = [t for t in texts_to(fake, "lead1") if t.startswith("【转接结果】")]
    assert "已发起 0 位" in result
    assert "李四：该员工与客户不是好友关系（errcode 84061）" in result


async def test_transfer_resigned_is_paged(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker.begin() as session:
        session.add(Staff(userid="dave", departments=[1], role="rep", active=False))
        for i in range(150):
            session.add(Customer(external_userid=f"d{i:03}", name=f"客户{i}"))
            await session.flush()
            session.add(FollowRelation(userid="dave", external_userid=f"d{i:03}"))
            fake.add_contact(f"d{i:03}", follow_user=["dave"])
    reply = await say(fake, "lead1", "/transfer dave alice")
    assert "dave 的 150 位客户 → Alice（alice）" in reply
    calls = fake.calls_to("externalcontact/resigned/transfer_customer")
    assert [len(c["json"]["external_userid"]) for c in calls] == [100, 50]
    results = [t for t in texts_to(fake, "lead1") if t.startswith("【转接结果】")]
    assert ["已发起 100 位" in results[0], "已发起 50 位" in results[1]] == [True, True]


async def test_escalations_and_resolve(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await say(fake, "alice", "/escalate 张三 投诉物流")
    await say(fake, "carol", "/escalate 王五 其他部门")
    listing = await say(fake, "lead1", "/escalations")
    assert "投诉物流" in listing
    assert "其他部门" not in listing
    async with sessionmaker() as session:
        mine, other = (await session.scalars(select(Escalation).order_by(Escalation.id))).all()
    assert "不属于你的团队" in await say(fake, "lead1", f"/resolve {other.id} 好")
    assert "用法：/resolve" in await say(fake, "lead1", f"/resolve {mine.id}")
    assert "已处理" in await say(fake, "lead1", f"/resolve {mine.id} 已退款")
    assert "没有未处理的升级" in await say(fake, "lead1", "/escalations")


async def test_overdue_and_stats(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker.begin() as session:
        late = utcnow() - timedelta(hours=2)
        session.add(Followup(external_userid="c3", userid="bob", note="回访", due_at=late,
                             reminded_at=late))  # fmt: skip
        session.add(Followup(external_userid="c4", userid="carol", note="别部门", due_at=late,
                             reminded_at=late))  # fmt: skip
    await say(fake, "alice", "/tag 张三 VIP")
    overdue = await say(fake, "lead1", "/overdue")
    assert "Bob（bob） · 李四 · 回访" in overdue
    assert "别部门" not in overdue
    stats = await say(fake, "lead1", "/stats 本周")
    assert "【本周】我的团队" in stats
    assert "逾期跟进：1" in stats
    assert "VIP(1)" in stats
    assert "全公司" in await say(fake, "boss", "/统计 今天")
    assert "时间段可以是" in await say(fake, "lead1", "/stats 上辈子")


async def test_misses(fake: FakeWeCom, team: Any) -> None:
    assert "未答" in await say(fake, "lead1", "/misses")


async def test_role_changes_access(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert "已把 Carol（carol） 设为主管，部门 2" in await say(fake, "boss", "/role carol 主管 2")
    assert "/stats" in await say(fake, "carol", "/help")
    assert "Carol（carol）：主管" in await say(fake, "boss", "/role carol")
    assert "未知角色" in await say(fake, "boss", "/role carol 皇帝")


async def test_tagnew_and_tagsync(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reply = await say(fake, "boss", "/tagnew 待回访 VIP 组=客户意向")
    assert "已在「客户意向」新建：待回访" in reply
    assert "已存在：VIP" in reply
    assert "标签库共 4 个标签" in await say(fake, "boss", "/tagsync")
    async with sessionmaker() as session:
        tag = (await session.scalars(select(Tag).where(Tag.name == "待回访"))).one()
    assert tag.group_name == "客户意向"
    assert "待回访" in await say(fake, "alice", "/tags")
