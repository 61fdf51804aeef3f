"""The sandbox's four default SOP scenarios, end to end through callbacks, commands and the
fake WeCom, with an injected clock: the right calls, in order, once each, inside the window."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.core.clock import ManualClock
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain.lifecycle_models import CustomerStage, PoolEntry, SopRule, SopRun, StageChange
from bot.domain.models import Customer, FollowRelation, Followup
from bot.sandbox.fake import FakeWeCom
from handlers import reminders
from handlers import sop as scheduler
from tests.conftest import INGEST_TOKEN
from tests.flows.conftest import deliver
from tests.helpers import say, settle, texts_to
from tests.lifecycle.conftest import Client, api_paths, bodies

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}
TRACKED = ("externalcontact/send_welcome_msg", "message/send", "externalcontact/add_msg_template",
           "externalcontact/mark_tag")  # fmt: skip


async def _pass(client: Client, clock: ManualClock) -> None:
    await scheduler.tick(client.app, clock.now())
    await reminders.tick(client.app, clock.now())
    await settle(client.app)


async def _customer(client: Client, fake: FakeWeCom, euid: str, name: str, *,
                    rep: str = "zhangsan", days_ago: int = 60,
                    last_interaction: datetime | None = None) -> None:  # fmt: skip
    """A customer the rep added long ago (no add event to replay)."""
    now = client.app[CLOCK].now()
    async with client.app[DB].begin() as session:
        session.add(Customer(external_userid=euid, name=name,
                             last_interaction_at=last_interaction))  # fmt: skip
        await session.flush()
        session.add(FollowRelation(userid=rep, external_userid=euid,
                                   added_at=now - timedelta(days=days_ago)))  # fmt: skip
    fake.add_contact(euid, name=name, follow_user=[rep])


def _tracked(fake: FakeWeCom, since: int = 0) -> list[str]:
    return [p for p in api_paths(fake, since) if p in TRACKED]


async def test_icebreak_welcome_task_article_then_tag_and_followup(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    fake.add_contact("wmNEW1", name="小美", follow_user=["zhangsan"])
    await deliver(fake, fake.xml_add_external_contact("zhangsan", "wmNEW1", "", "WCODE1"))
    await _pass(life, clock)
    assert _tracked(fake) == ["externalcontact/send_welcome_msg", "message/send"]
    task = texts_to(fake, "zhangsan")[-1]
    assert "【SOP 任务】新客破冰" in task
    # The task's text is what the customer will read: no userid, no staff-only label.
    assert "小美您好，我是张三～" in task

    mark = len(fake.calls)
    clock.advance(9 * 60)
    await _pass(life, clock)
    assert _tracked(fake, mark) == []  # the article waits its 10 minutes
    clock.advance(60)
    await _pass(life, clock)
    assert _tracked(fake, mark) == ["externalcontact/add_msg_template"]
    mass = bodies(fake, "externalcontact/add_msg_template")[0]
    assert mass["sender"] == "zhangsan"
    assert mass["external_userid"] == ["wmNEW1"]
    assert mass["attachments"][0]["link"]["url"] == "https://example.com/brand"

    mark = len(fake.calls)
    clock.advance(24 * 3600)
    await _pass(life, clock)
    assert _tracked(fake, mark) == ["externalcontact/mark_tag", "message/send"]
    assert "跟进提醒" in texts_to(fake, "zhangsan", mark)[0]
    async with life.app[DB]() as session:
        followup = await session.scalar(
            select(Followup).where(Followup.external_userid == "wmNEW1")
        )
        statuses = list(await session.scalars(select(SopRun.status).order_by(SopRun.step)))
    assert followup is not None
    assert "24 小时回访" in followup.note
    assert statuses == ["task", "mass", "done"]  # the article waits for the rep to confirm

    mark = len(fake.calls)
    for _ in range(3):  # later passes repeat nothing
        clock.advance(3600)
        await _pass(life, clock)
    assert _tracked(fake, mark) == []


async def test_warming_starts_when_a_rep_tags_high_intent(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    await _customer(life, fake, "wmW1", "小王")
    reply = await say(fake, "zhangsan", "/tag 小王 高意向")
    assert "高意向" in reply
    mark = len(fake.calls)
    await _pass(life, clock)
    assert _tracked(fake, mark) == ["message/send"]
    assert "同肤质客户的使用案例" in texts_to(fake, "zhangsan", mark)[0]
    async with life.app[DB]() as session:
        stage = await session.get(CustomerStage, "wmW1")
        change = await session.scalar(select(StageChange))
    assert stage is not None
    assert stage.stage == "意向明确"
    assert change is not None
    assert (change.by_kind, change.by) == ("sop", "warming")

    mark = len(fake.calls)
    clock.advance(2 * 86400)
    await _pass(life, clock)
    await _pass(life, clock)
    assert _tracked(fake, mark) == ["message/send"]
    assert "旅行装" in texts_to(fake, "zhangsan", mark)[0]


async def test_silent_customers_get_care_then_a_coupon_unless_they_answer(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    long_ago = clock.now() - timedelta(days=31)
    await _customer(life, fake, "wmS1", "回复者", last_interaction=long_ago)
    await _customer(life, fake, "wmS2", "沉默者", last_interaction=long_ago)
    async with life.app[DB].begin() as session:
        # As if the rules were just imported: their first scan covers every silence that
        # began since they were created (a later scan only what began since the one before).
        await session.execute(update(SopRule).values(scanned_at=None))
    await _pass(life, clock)
    assert sorted(_tracked(fake)) == ["externalcontact/mark_tag"] * 2 + ["message/send"] * 2
    added = {b["external_userid"]: b["add_tag"] for b in bodies(fake, "externalcontact/mark_tag")}
    assert set(added) == {"wmS1", "wmS2"}

    line = {"msgid": "m-s1", "action": "send", "from": "wmS1", "tolist": ["zhangsan"],
            "roomid": "", "msgtime": 1, "msgtype": "text", "text": {"content": "最近挺好的"}}
    resp = await life.post("/ingest/messages", data=json.dumps(line, ensure_ascii=False).encode(),
                           headers=AUTH)  # fmt: skip
    assert resp.status == 200
    mark = len(fake.calls)
    await _pass(life, clock)
    assert sorted(_tracked(fake, mark)) == ["externalcontact/mark_tag", "message/send"]
    assert "回复者 回复了关怀消息" in texts_to(fake, "zhangsan", mark)[0]
    removed = bodies(fake, "externalcontact/mark_tag")[-1]
    assert removed["external_userid"] == "wmS1"
    assert removed["remove_tag"]

    mark = len(fake.calls)
    clock.advance(7 * 86400)
    await _pass(life, clock)
    await _pass(life, clock)
    assert _tracked(fake, mark) == ["externalcontact/add_msg_template"]
    coupon = bodies(fake, "externalcontact/add_msg_template")[-1]
    assert coupon["external_userid"] == ["wmS2"]
    assert "10 元无门槛小券" in coupon["text"]["content"]
    async with life.app[DB]() as session:
        skipped = await session.scalar(
            select(SopRun).where(SopRun.external_userid == "wmS1", SopRun.rule_id == "silent",
                                 SopRun.step == 1)  # fmt: skip
        )
    assert skipped is not None
    assert (skipped.status, skipped.note) == ("skipped", "客户已回复")


async def test_high_intent_without_followup_for_3_days_goes_to_the_pool(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    await _customer(life, fake, "wmP1", "小潘")
    await say(fake, "zhangsan", "/tag 小潘 高意向")
    await _pass(life, clock)
    clock.advance(2 * 86400)
    await _pass(life, clock)
    mark = len(fake.calls)
    clock.advance(86400 + 60)
    await _pass(life, clock)
    await _pass(life, clock)
    async with life.app[DB]() as session:
        entries = list(await session.scalars(select(PoolEntry)))
    assert [(e.external_userid, e.from_userid, e.entered_by) for e in entries] == [
        ("wmP1", "zhangsan", "idle-to-pool")
    ]
    alerts = [t for t in texts_to(fake, "lead1", mark) if "已移入公海" in t]
    assert len(alerts) == 1
    assert "小潘" in alerts[0]


async def test_nothing_goes_out_outside_the_send_window(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    tz = ZoneInfo(life.app[SETTINGS].timezone)
    await _customer(life, fake, "wmN1", "夜猫子")
    clock.set(clock.now().astimezone(tz).replace(hour=22, minute=0).astimezone(clock.now().tzinfo))
    await say(fake, "zhangsan", "/tag 夜猫子 高意向")
    mark = len(fake.calls)
    await _pass(life, clock)
    opening = (clock.now().astimezone(tz) + timedelta(days=1)).replace(hour=9, minute=0)
    clock.set(opening - timedelta(minutes=1))
    await _pass(life, clock)
    assert _tracked(fake, mark) == []
    async with life.app[DB]() as session:
        stage = await session.get(CustomerStage, "wmN1")
    assert stage is None  # the step's stage change waits with its message
    clock.set(opening)
    await _pass(life, clock)
    assert _tracked(fake, mark) == ["message/send"]
