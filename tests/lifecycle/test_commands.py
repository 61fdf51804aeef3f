"""Lifecycle commands: stages with history, lists by stage and activity, the funnel, SOP
rules paused and resumed, SOP tasks; bad input gets a Chinese reply and changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.keys import CLOCK, DB
from bot.domain.lifecycle_models import SopRule, StageChange
from bot.domain.models import Customer, FollowRelation
from bot.domain.sop import runs
from bot.sandbox.fake import FakeWeCom
from handlers import sop as scheduler
from tests.helpers import say, settle
from tests.lifecycle.conftest import Client


async def _customers(life: Client, fake: FakeWeCom) -> None:
    now = life.app[CLOCK].now()
    rows = [("wm1", "小一", now - timedelta(days=1)), ("wm2", "小二", now - timedelta(days=10)),
            ("wm3", "小三", now - timedelta(days=40)), ("wm4", "小四", None)]  # fmt: skip
    async with life.app[DB].begin() as session:
        for euid, name, last in rows:
            session.add(Customer(external_userid=euid, name=name, last_interaction_at=last))
            await session.flush()
            session.add(FollowRelation(userid="zhangsan", external_userid=euid,
                                       added_at=now - timedelta(days=60)))  # fmt: skip
            fake.add_contact(euid, name=name, follow_user=["zhangsan"])


async def test_stage_changes_are_kept_and_filterable(life: Client, fake: FakeWeCom) -> None:
    await _customers(life, fake)
    assert "从「初步了解」改为「报价阶段」" in await say(fake, "zhangsan", "/stage 小一 报价阶段")
    assert "改为「已成交」" in await say(fake, "zhangsan", "/stage 小一 4")
    bad = await say(fake, "zhangsan", "/stage 小二 谈恋爱")
    assert "没有阶段「谈恋爱」，可选：1.初步了解" in bad
    shown = await say(fake, "zhangsan", "/stage 小一")
    assert "当前阶段：已成交" in shown
    assert "报价阶段 → 已成交" in shown
    async with life.app[DB]() as session:
        changes = list(await session.scalars(select(StageChange).order_by(StageChange.id)))
    assert [(c.from_stage, c.to_stage, c.by) for c in changes] == [
        ("初步了解", "报价阶段", "zhangsan"), ("报价阶段", "已成交", "zhangsan")
    ]

    listed = await say(fake, "zhangsan", "/customers 沉默30天")
    assert "「沉默30天」客户 1 位" in listed
    assert "小三 · 初步了解 · 沉默30天" in listed
    assert "小四" in await say(fake, "zhangsan", "/customers 未互动")
    both = await say(fake, "zhangsan", "/customers 已成交 高活跃")
    assert "客户 1 位" in both
    assert "小一" in both
    assert "没有符合" in await say(fake, "zhangsan", "/customers 报价阶段")

    funnel = await say(fake, "lead1", "/funnel")
    assert "初步了解：3" in funnel
    assert "已成交：1" in funnel
    assert "报价阶段→已成交 100%" in funnel


async def test_sop_rules_pause_resume_and_tasks(life: Client, fake: FakeWeCom) -> None:
    await _customers(life, fake)
    listing = await say(fake, "lead1", "/sop")
    assert "warming「高意向升温」打上标签「高意向」 · 2 步 · ▶ 运行中" in listing
    assert "需要主管权限" in await say(fake, "zhangsan", "/soppause warming")
    assert "已暂停规则「高意向升温」" in await say(fake, "lead1", "/soppause warming")
    assert "已经是暂停状态" in await say(fake, "lead1", "/soppause warming")
    assert "没有规则「nope」，发 /sop 查看规则列表" in await say(fake, "lead1", "/soppause nope")
    await say(fake, "zhangsan", "/tag 小一 高意向")
    await scheduler.tick(life.app, life.app[CLOCK].now())
    await settle(life.app)
    assert "小一" not in await say(fake, "zhangsan", "/soptasks")  # 小三's silence task only
    assert "已恢复规则" in await say(fake, "lead1", "/sopresume warming")
    await scheduler.tick(life.app, life.app[CLOCK].now())
    await settle(life.app)
    tasks = await say(fake, "zhangsan", "/soptasks")
    assert "小一 · 小一，给您整理了同肤质客户的使用案例" in tasks
    async with life.app[DB]() as session:
        rule = await session.get(SopRule, "warming")
    assert rule is not None
    assert not rule.paused
    assert "SOP 任务完成率" in await say(fake, "lead1", "/funnel")
    # The listing counts every rep's issued tasks per rule (one grouped query, not one per rule).
    async with life.app[DB]() as session:
        done = await runs.completion_by_rep(session, rule_id="warming")
    issued, sent = sum(c.issued for c in done), sum(c.sent for c in done)
    assert issued > 0
    assert f"▶ 运行中 · 任务完成 {sent}/{issued}" in await say(fake, "lead1", "/sop")
