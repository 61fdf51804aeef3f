"""A lone "/", glued Chinese aliases, Chinese typos, and stale or out-of-range "/N" answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import AuditLog, Note
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def test_lone_slash_is_help_for_the_callers_role(fake: FakeWeCom, team: Any) -> None:
    lead = await say(fake, "lead1", "/")
    assert "（主管）" in lead
    assert "/stats" in lead
    assert "【客服命令】" in lead
    assert "【主管命令】" in lead
    rep = await say(fake, "alice", "／")
    assert "/stats" not in rep
    assert "【" not in rep  # one tier: no headings


async def test_chinese_alias_without_space(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    assert "已记下 张三 的备注" in await say(fake, "alice", "/备注张三 喜欢下午联系")
    assert "明天 10:00 提醒你" in await say(fake, "alice", "/跟进张三 回电 明天10点")
    assert "标签库" in await say(fake, "alice", "/标签库")  # the longer alias wins
    async with sessionmaker() as session:
        note = (await session.scalars(select(Note))).one()
    assert note.text == "喜欢下午联系"


async def test_chinese_typo_gets_suggestion(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/跟近 张三 回电")
    assert "没有命令 /跟近" in reply
    assert "/follow" in reply


async def test_out_of_range_choice_keeps_the_question(fake: FakeWeCom, team: Any) -> None:
    assert "有 2 位客户匹配" in await say(fake, "alice", "/note 张 电话联系")
    assert "请回复 /1 到 /2" in await say(fake, "alice", "/7")
    assert "已记下" in await say(fake, "alice", "/1")


async def test_stale_choice_and_lone_slash_are_audited(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await say(fake, "alice", "/1")
    await say(fake, "alice", "/")
    async with sessionmaker() as session:
        rows = (await session.scalars(select(AuditLog).order_by(AuditLog.id))).all()
    assert [(r.actor, r.action, r.result) for r in rows] == [
        ("alice", "cmd:choice", "not_found"),
        ("alice", "cmd:help", "ok"),
    ]
    assert all(r.created_at is not None for r in rows)
