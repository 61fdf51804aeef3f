"""Churn (del_follow_user) and departure (change_contact delete_user, the address-book sync):
alerts, the 流失 tag and stage, and the departed member's customers handed on per policy."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.keys import CLOCK, DB, SETTINGS, WECOM
from bot.domain import churn, directory, tags
from bot.domain.lifecycle_models import CustomerStage, PoolEntry
from bot.domain.models import Customer, FollowRelation, Staff
from bot.sandbox import fake_xml
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import contact_event, deliver
from tests.helpers import say, settle, texts_to
from tests.lifecycle.conftest import Client, bodies


@pytest.fixture
def overrides() -> dict[str, object]:
    """Departed members' customers go to the pool."""
    return {"departure_policy": "pool"}


async def _customer(life: Client, fake: FakeWeCom, euid: str, name: str, reps: list[str]) -> None:
    async with life.app[DB].begin() as session:
        session.add(Customer(external_userid=euid, name=name))
        await session.flush()
        for rep in reps:
            session.add(FollowRelation(userid=rep, external_userid=euid))
    fake.add_contact(euid, name=name, follow_user=reps)


def _member_deleted(userid: str) -> bytes:
    return fake_xml.render([
        ("ToUserName", "corp"), ("FromUserName", "sys"), ("CreateTime", int(time.time())),
        ("MsgType", "event"), ("Event", "change_contact"), ("ChangeType", "delete_user"),
        ("UserID", userid),
    ])  # fmt: skip


async def test_customer_deleting_the_rep_alerts_tags_and_counts(
    life: Client, fake: FakeWeCom
) -> None:
    await _customer(life, fake, "wmX", "小流", ["zhangsan"])
    await _customer(life, fake, "wmY", "小留", ["zhangsan", "lisi"])
    await deliver(fake, contact_event("del_follow_user", "zhangsan", "wmX"))
    await deliver(fake, contact_event("del_follow_user", "zhangsan", "wmY"))
    assert any("客户 小流 删除了你" in t for t in texts_to(fake, "zhangsan"))
    assert any("【客户流失】客户 小流 删除了员工" in t for t in texts_to(fake, "lead1"))
    async with life.app[DB]() as session:
        lost_x = [t.name for t in await tags.customer_tags(session, "wmX")]
        lost_y = [t.name for t in await tags.customer_tags(session, "wmY")]
        stage_x = await session.get(CustomerStage, "wmX")
        stage_y = await session.get(CustomerStage, "wmY")
    assert lost_x == [churn.LOST_TAG]
    assert lost_y == [churn.LOST_TAG]
    assert stage_x is not None
    assert stage_x.stage == "流失客户"  # nobody follows them any more
    assert stage_y is None  # lisi still does
    marks = bodies(fake, "externalcontact/mark_tag")
    assert [(m["userid"], m["external_userid"]) for m in marks] == [("lisi", "wmY")]
    assert "流失：2" in await say(fake, "lead1", "/stats 今天")


async def test_departed_member_customers_go_to_the_pool_once(
    life: Client, fake: FakeWeCom
) -> None:
    await _customer(life, fake, "wmD1", "离一", ["zhangsan"])
    await _customer(life, fake, "wmD2", "离二", ["zhangsan"])
    await deliver(fake, _member_deleted("zhangsan"))
    await deliver(fake, _member_deleted("zhangsan"))  # a replay (another CreateTime) is moot
    async with life.app[DB]() as session:
        entries = sorted(await session.scalars(select(PoolEntry.external_userid)))
        member = await session.get(Staff, "zhangsan")
    assert entries == ["wmD1", "wmD2"]
    assert member is not None
    assert not member.active
    notices = [t for t in texts_to(fake, "lead1") if "【员工离职】" in t]
    assert notices == [
        "【员工离职】张三（zhangsan） 已离职，名下 2 位客户已移入公海（/pool 查看）。"
    ]


async def test_successor_policy_and_the_address_book_sync(life: Client, fake: FakeWeCom) -> None:
    app = life.app
    await _customer(life, fake, "wmS1", "继一", ["zhangsan"])
    await _customer(life, fake, "wmW1", "王客", ["wangwu"])
    heir = app[SETTINGS].model_copy(update={"departure_policy": "successor:lisi"})
    async with app[DB].begin() as session:
        assert await churn.member_left(session, heir, "zhangsan", now=app[CLOCK].now(), by="t")
        assert not await churn.member_left(session, heir, "zhangsan", now=app[CLOCK].now(),
                                           by="t")  # fmt: skip
    await settle(app)
    moved = bodies(fake, "externalcontact/resigned/transfer_customer")
    assert [(b["handover_userid"], b["takeover_userid"], b["external_userid"]) for b in moved] == [
        ("zhangsan", "lisi", ["wmS1"])
    ]

    # wangwu leaves WeCom: the next address-book sync finds out and applies the policy (pool).
    async with app[DB].begin() as session:
        session.add(Staff(userid="wangwu", name="王五", departments=[3]))
    fake.state.members.pop("wangwu")
    outcome = await directory.sync(app[DB], app[SETTINGS], app[WECOM],
                                   now=app[CLOCK].now(), every=timedelta(0))  # fmt: skip
    assert outcome is not None
    assert outcome.departed == ["wangwu"]
    async with app[DB]() as session:
        pooled = list(await session.scalars(select(PoolEntry.external_userid)))
    assert pooled == ["wmW1"]
