"""Notices and replies showed raw ids: 「客户：wm0000059086a21b（wksandboxkf0001）」 on a kf
handover, 「客户 wm… 未能转给 lisi」 on a failed transfer, 「· alice」 after customers found by
a supervisor, 「alice 名下没有客户」. Staff see names now, e.g. 刘主管（lead1）."""

from __future__ import annotations

from typing import Any

from bot.core.keys import DB
from bot.domain.models import Customer, FollowRelation
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import Client, contact_event, deliver, kb_client
from tests.flows.test_kf import KF, _customer_says
from tests.helpers import say, texts_to

__all__ = ["kb_client"]


async def test_kf_handover_notice_names_customer_and_account(
    kb_client: Client, fake: FakeWeCom
) -> None:
    fake.add_kf_account(KF, "花漾肌研客服")
    fake.add_contact("wmQ1", name="林小姐")  # a WeChat user WeCom knows by nickname
    await _customer_says(fake, "wmQ1", "面膜可以带上飞机吗")
    (notice,) = texts_to(fake, "lead1")
    assert "客户：林小姐（花漾肌研客服）" in notice
    assert "wmQ1" not in notice
    assert KF not in notice
    # The nickname is kept: the next handover needs no WeCom read for it.
    await _customer_says(fake, "wmQ1", "还有一个问题：精油能托运吗")
    assert len(fake.calls_to("kf/customer/batchget")) == 1
    assert len(fake.calls_to("kf/account/list")) == 1  # cached


async def test_rule_notice_names_a_new_kf_customer(kb_client: Client, fake: FakeWeCom) -> None:
    async with kb_client.app[DB].begin() as session:
        session.add(Customer(external_userid="wmQ3"))  # known here, but not by name
        await session.flush()
        session.add(FollowRelation(userid="alice", external_userid="wmQ3"))
    fake.add_contact("wmQ3", name="林小姐", follow_user=["alice"])
    await _customer_says(fake, "wmQ3", "用了以后脸上红肿过敏")
    (notice,) = [t for t in texts_to(fake, "alice") if t.startswith("【客户提醒】")]
    assert notice.startswith("【客户提醒】林小姐：")


async def test_kf_notice_without_names_still_reads(kb_client: Client, fake: FakeWeCom) -> None:
    fake.fail_next("kf/account/list", 48002)
    await _customer_says(fake, "wmQ2", "面膜可以带上飞机吗")
    (notice,) = texts_to(fake, "lead1")
    assert "（微信客服）" in notice


async def test_failed_transfer_names_customer_and_takeover(fake: FakeWeCom, team: Any) -> None:
    xml = contact_event("transfer_fail", "bob", "c1", FailReason="customer_refused")
    await deliver(fake, xml)
    (notice,) = texts_to(fake, "boss|lead1")  # bob's department's supervisor and admin
    assert "客户 张总 13800001234（张三） 未能转给 Bob（bob）" in notice


async def test_supervisor_find_and_transfer_name_the_reps(fake: FakeWeCom, team: Any) -> None:
    found = await say(fake, "lead1", "/find 张")
    assert "· Alice（alice）" in found
    assert "Carol（carol） 不在你的部门" in await say(fake, "lead1", "/transfer carol bob")
    assert "Lead（lead1） 名下没有客户" in await say(fake, "boss", "/transfer lead1 bob")
