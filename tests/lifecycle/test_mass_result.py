"""A 企业群发 step waits for the rep's confirmation and is closed by WeCom's send result:
delivered once the rep confirms, "not confirmed" after three days, "not submitted" when WeCom
refused the task. Seed rule 新客破冰 sends its article as a 企业群发 ten minutes after the add."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.keys import DB
from bot.domain.lifecycle_models import SopRun
from bot.domain.sop.actions import MASS_CHECK_EVERY
from bot.sandbox.fake import FakeWeCom
from handlers import sop as scheduler
from tests.flows.conftest import deliver
from tests.helpers import settle
from tests.lifecycle.conftest import Client

EVERY = int(MASS_CHECK_EVERY.total_seconds())


async def _pass(client: Client, clock: ManualClock) -> None:
    await scheduler.tick(client.app, clock.now())
    await settle(client.app)


async def _mass_run(client: Client, euid: str) -> tuple[str, str]:
    async with client.app[DB]() as session:
        run = await session.scalar(
            select(SopRun).where(SopRun.external_userid == euid, SopRun.step == 1)
        )
    assert run is not None
    return run.status, run.note


async def _added_and_massed(
    client: Client, fake: FakeWeCom, clock: ManualClock, euid: str, code: str
) -> None:
    fake.add_contact(euid, name="小美", follow_user=["zhangsan"])
    await deliver(fake, fake.xml_add_external_contact("zhangsan", euid, "", code))
    await _pass(client, clock)
    clock.advance(10 * 60)
    await _pass(client, clock)  # the article goes to the rep's 群发助手
    clock.advance(EVERY)
    await _pass(client, clock)  # and its result is read: not confirmed yet


async def test_confirmed_mass_is_delivered(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    await _added_and_massed(life, fake, clock, "wmMASS1", "MCODE1")
    assert len(fake.calls_to("externalcontact/get_groupmsg_send_result")) >= 1
    assert await _mass_run(life, "wmMASS1") == ("mass", "已提交企业群发，待员工确认")
    assert fake.confirm_mass("zhangsan") == 1
    clock.advance(EVERY)
    await _pass(life, clock)
    assert await _mass_run(life, "wmMASS1") == ("done", "企业群发已送达")
    asked = len(fake.calls_to("externalcontact/get_groupmsg_send_result"))
    clock.advance(EVERY)
    await _pass(life, clock)  # a closed step is not asked about again
    assert len(fake.calls_to("externalcontact/get_groupmsg_send_result")) == asked


async def test_unconfirmed_mass_closes_after_three_days(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    await _added_and_massed(life, fake, clock, "wmMASS2", "MCODE2")
    clock.advance(2 * 86400)
    await _pass(life, clock)
    assert (await _mass_run(life, "wmMASS2"))[0] == "mass"
    clock.advance(86400 + 60)
    await _pass(life, clock)
    assert await _mass_run(life, "wmMASS2") == ("done", "员工 3 天内未确认企业群发，未送达")


async def test_refused_mass_is_noted(life: Client, fake: FakeWeCom, clock: ManualClock) -> None:
    fake.add_contact("wmMASS3", name="小美", follow_user=["zhangsan"])
    await deliver(fake, fake.xml_add_external_contact("zhangsan", "wmMASS3", "", "MCODE3"))
    await _pass(life, clock)
    fake.state.contacts["wmMASS3"]["follow_user"] = []  # the customer deleted the rep meanwhile
    clock.advance(10 * 60)
    await _pass(life, clock)
    clock.advance(EVERY)
    await _pass(life, clock)
    assert await _mass_run(life, "wmMASS3") == ("done", "企业群发未提交：客户不在该员工的好友中")


async def test_a_rule_edited_while_its_mass_waits_still_reads_the_result(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    """The admin drops the article step from the rule while the rep has not confirmed yet: the
    waiting step still finds its own 企业群发 (not whatever step now has its index)."""
    from bot.domain.lifecycle_models import SopRule

    await _added_and_massed(life, fake, clock, "wmMASS4", "MCODE4")
    async with life.app[DB].begin() as session:
        run = await session.scalar(select(SopRun).where(SopRun.external_userid == "wmMASS4",
                                                        SopRun.step == 1))  # fmt: skip
        assert run is not None
        rule = await session.get(SopRule, run.rule_id)
        assert rule is not None
        rule.steps = [rule.steps[0]]
    assert fake.confirm_mass("zhangsan") == 1
    clock.advance(EVERY)
    await _pass(life, clock)
    assert await _mass_run(life, "wmMASS4") == ("done", "企业群发已送达")
