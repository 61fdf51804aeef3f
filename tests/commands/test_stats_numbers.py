"""/stats figures on seeded data: today and an explicit yesterday range, team-scoped."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import utcnow
from bot.domain import turns
from bot.domain.models import (
    Customer,
    CustomerTag,
    Escalation,
    FollowRelation,
    Followup,
    Message,
    Tag,
)
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say

TZ = ZoneInfo("Asia/Shanghai")


async def _seed(sm: async_sessionmaker[AsyncSession]) -> datetime:
    """Seed around the current local day; returns yesterday's local midnight."""
    now = utcnow()
    today = datetime.combine(now.astimezone(TZ).date(), time(), tzinfo=TZ)
    t, y = today + timedelta(minutes=1), today - timedelta(hours=1)
    async with sm.begin() as session:
        tag = {t.name: t.id for t in (await session.scalars(select(Tag))).all()}
        for euid in ("c5", "c6"):
            session.add(Customer(external_userid=euid, name=euid))
        await session.flush()
        session.add_all(
            [
                FollowRelation(userid="alice", external_userid="c5", added_at=y),
                FollowRelation(userid="alice", external_userid="c6", status="lost",
                               added_at=today - timedelta(days=10), ended_at=y),
                *[Message(source="kf", external_userid="c1", text="q", created_at=t,
                          auto_replied=i == 0) for i in range(3)],
                *[Message(source="kf", external_userid="c4", text="q", created_at=t)
                  for _ in range(2)],
                Message(source="kf", direction="out", external_userid="c1", text="a",
                        created_at=t),
                Message(source="kf", external_userid="c1", text="q", created_at=y),
                Followup(external_userid="c1", userid="alice", note="a", done_at=t),
                Followup(external_userid="c1", userid="alice", note="b", done_at=y),
                Followup(external_userid="c3", userid="bob", note="c",
                         due_at=now - timedelta(minutes=1)),
                Followup(external_userid="c4", userid="carol", note="d",
                         due_at=now - timedelta(minutes=1)),
                Followup(external_userid="c2", userid="alice", note="e",
                         due_at=now + timedelta(days=1)),
                Escalation(external_userid="c1", userid="alice", reason="x", notified_at=t),
                Escalation(external_userid="c1", userid="alice", reason="y", status="resolved",
                           notified_at=t),
                Escalation(external_userid="c4", userid="carol", reason="z", notified_at=t),
                CustomerTag(external_userid="c1", tag_id=tag["VIP"], created_at=t),
                CustomerTag(external_userid="c2", tag_id=tag["VIP"], created_at=t),
                CustomerTag(external_userid="c3", tag_id=tag["投诉"], created_at=t),
                CustomerTag(external_userid="c4", tag_id=tag["VIP"], created_at=t),
                CustomerTag(external_userid="c1", tag_id=tag["高意向客户"], created_at=y),
            ]
        )  # fmt: skip
        await session.flush()
        messages = await session.scalars(select(Message).order_by(Message.created_at, Message.id))
        await turns.record(session, turns.events_of(messages))
    return today - timedelta(days=1)


async def test_stats_today_and_range(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    yesterday = (await _seed(sessionmaker)).date().isoformat()
    today = await say(fake, "lead1", "/stats 今天")
    assert today.splitlines() == [
        "【今天】我的团队",
        "新增客户：3\u3000流失：0",  # c1 c2 c3 from the fixture; carol's c4 is another team
        "客户消息：3\u3000自动回复率：33%",
        # c1's turn began yesterday (their message at 23:00): today's questions are the same
        # wait, so it counts in yesterday's figure (one definition with the dashboard).
        "首次响应：—",
        "完成跟进：1\u3000逾期跟进：1",
        "未处理升级：1",
        "热门标签：VIP(2)、投诉(1)",
    ]
    past = await say(fake, "lead1", f"/stats {yesterday}~{yesterday}")
    assert past.splitlines() == [
        f"【{yesterday}~{yesterday}】我的团队",
        "新增客户：1\u3000流失：1",
        "客户消息：1\u3000自动回复率：0%",
        "首次响应：中位 1.0 小时\u3000P90 1.0 小时（1 次）",  # 23:00 to the bot's 00:01 answer
        "完成跟进：1\u3000逾期跟进：1",  # overdue and open escalations are as of now
        "未处理升级：1",
        "热门标签：高意向客户(1)",
    ]
    everyone = await say(fake, "boss", "/stats")
    assert "新增客户：4" in everyone
    assert "客户消息：5" in everyone
    assert "逾期跟进：2" in everyone
    assert "未处理升级：2" in everyone
    assert "热门标签：VIP(3)、投诉(1)" in everyone
    for period in ("本周", "本月", "近7天"):
        assert f"【{period}】我的团队" in await say(fake, "lead1", f"/stats {period}")


async def test_stats_bad_period_shows_usage(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "lead1", "/stats 上辈子")
    assert "时间段可以是" in reply
    assert "用法：/stats" in reply
