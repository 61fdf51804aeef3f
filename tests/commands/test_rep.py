"""Rep commands through the callback: tags, notes, follow-ups, escalations, search, kb."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import AuditLog, CustomerTag, Escalation, Followup, Note
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def test_tag_and_idempotent(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/tag 张三 VIP")
    assert "已给 张三 打上：VIP" in reply
    assert len(fake.calls_to("externalcontact/mark_tag")) == 1
    assert "已经有这些标签" in await say(fake, "alice", "/标签 张三 VIP")
    assert len(fake.calls_to("externalcontact/mark_tag")) == 1
    tagged = fake.state.follow("alice", "c1")["tags"]
    assert [t["tag_name"] for t in tagged] == ["VIP"]


async def test_untag(fake: FakeWeCom, team: Any) -> None:
    await say(fake, "alice", "/tag 张三 VIP 投诉")
    reply = await say(fake, "alice", "/untag 张三 投诉")
    assert "已去掉 张三 的：投诉" in reply
    assert "当前标签：VIP" in reply


async def test_unknown_tag_gets_suggestions(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/tag 张三 高意向")
    assert "没有标签「高意向」" in reply
    assert "高意向客户" in reply
    assert not fake.calls_to("externalcontact/mark_tag")
    assert not fake.calls_to("externalcontact/add_corp_tag")


async def test_rep_cannot_tag_another_reps_customer(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "bob", "/tag 张三 VIP")
    assert reply == "这不是你的客户"
    assert await say(fake, "bob", "/tag c1 VIP") == "这不是你的客户"
    assert not fake.calls_to("externalcontact/mark_tag")


async def test_ambiguous_customer_then_choice(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reply = await say(fake, "alice", "/tag 张 VIP")
    assert "有 2 位客户匹配「张」" in reply
    assert "/1" in reply
    assert "/2" in reply
    lines = reply.splitlines()
    pick = next(line.split()[0] for line in lines if "张珊" in line)
    assert "已给 张珊 打上：VIP" in await say(fake, "alice", pick)
    async with sessionmaker() as session:
        rows = (await session.scalars(select(CustomerTag.external_userid))).all()
    assert rows == ["c2"]
    assert "没有等待选择的客户" in await say(fake, "alice", "/1")


async def test_choice_is_per_user(fake: FakeWeCom, team: Any) -> None:
    await say(fake, "alice", "/note 张 电话联系")
    assert "没有等待选择的客户" in await say(fake, "bob", "/1")


async def test_phone_tail_and_remark(fake: FakeWeCom, team: Any) -> None:
    assert "已记下 张三 的备注" in await say(fake, "alice", "/note 1234 喜欢下午联系")
    assert "已记下 张三 的备注" in await say(fake, "alice", "/note 张总 要发票")


async def test_bad_arguments_show_usage(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/tag 张三")
    assert "请写明客户和至少一个标签" in reply
    assert "用法：/tag 客户 标签…" in reply
    assert "例如：" in reply
    assert "用法：/done 编号" in await say(fake, "alice", "/done abc")
    assert "用法：/follow" in await say(fake, "alice", "/follow")


async def test_note(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await say(fake, "alice", "/备注 张三 喜欢蓝色 包装")
    async with sessionmaker() as session:
        note = (await session.scalars(select(Note))).one()
    assert (note.external_userid, note.userid, note.text) == ("c1", "alice", "喜欢蓝色 包装")


async def test_follow_todo_done(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reply = await say(fake, "alice", "/follow 张三 回电确认报价 明天10点")
    assert "明天 10:00 提醒你" in reply
    await say(fake, "alice", "/follow 张珊 寄样品")
    async with sessionmaker() as session:
        items = (await session.scalars(select(Followup).order_by(Followup.id))).all()
    assert [(f.external_userid, f.note, f.due_at is not None) for f in items] == [
        ("c1", "回电确认报价", True),
        ("c2", "寄样品", False),
    ]
    todo = await say(fake, "alice", "/todo")
    assert f"#{items[0].id} 张总 13800001234（张三） · 回电确认报价" in todo
    assert "寄样品" in todo
    assert "已完成" in await say(fake, "alice", f"/done {items[0].id}")
    assert "回电确认报价" not in await say(fake, "alice", "/todo")
    assert "这不是你的跟进" in await say(fake, "bob", f"/done {items[1].id}")


async def test_follow_in_the_past_is_refused(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/follow 张三 回电 2020-01-01")
    assert "已经过去了" in reply


async def test_escalate_notifies_supervisor(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reply = await say(fake, "alice", "/escalate 张三 要求退款并投诉")
    assert "已通知：Boss（boss）、Lead（lead1）" in reply  # boss is an admin in department 1 too
    alerts = fake.calls_to("message/send")
    assert len(alerts) == 1
    assert alerts[0]["json"]["touser"].split("|") == ["boss", "lead1"]
    assert "要求退款并投诉" in alerts[0]["json"]["text"]["content"]
    async with sessionmaker() as session:
        escalation = (await session.scalars(select(Escalation))).one()
    assert escalation.notified_at is not None


async def test_find(fake: FakeWeCom, team: Any) -> None:
    await say(fake, "alice", "/tag 张珊 VIP")
    reply = await say(fake, "alice", "/find VIP")
    assert "张珊" in reply
    assert "张三" not in reply
    assert "没有匹配" in await say(fake, "alice", "/find 李四")


async def test_kb_answers_or_says_empty(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/kb 怎么开发票")
    assert "知识库" in reply or "1." in reply


async def test_every_command_is_audited(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await say(fake, "alice", "/note 张三 hi")
    await say(fake, "bob", "/tag 张三 VIP")
    await say(fake, "alice", "/assign 张三 bob")
    await say(fake, "alice", "/nope")
    async with sessionmaker() as session:
        rows = (await session.scalars(select(AuditLog).order_by(AuditLog.id))).all()
    got = [(r.actor, r.action, r.result) for r in rows]
    assert got == [
        ("alice", "cmd:note", "ok"),
        ("bob", "cmd:tag", "forbidden"),
        ("alice", "cmd:assign", "forbidden"),
        ("alice", "cmd:?", "unknown"),
    ]
