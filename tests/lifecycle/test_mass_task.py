"""A step with both a rep task and a 企业群发 stays a task (the rep's one-tap send, the
completion rate) and also waits for its 群发's send result, reported in words a supervisor
reads beside the task's status: in the console, on the customer's timeline."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.keys import DB
from bot.domain import timeline
from bot.domain.lifecycle_models import SopRun
from bot.domain.models import Staff
from bot.domain.sop import mass, rules, runs
from bot.domain.sop.actions import MASS_CHECK_EVERY
from bot.sandbox.fake import FakeWeCom
from handlers import sop as scheduler
from tests.console.test_explain import signed_in_cookie
from tests.flows.conftest import deliver
from tests.helpers import settle
from tests.lifecycle.conftest import Client

EVERY = int(MASS_CHECK_EVERY.total_seconds())
TASK_TEXT = "{customer}您好，新品试用装已为您预留。"
RULE = {
    "id": "taskmass",
    "name": "新品试用",
    "trigger": {"kind": "added"},
    "steps": [{"delay": 0, "actions": [
        {"type": "task", "text": TASK_TEXT},
        {"type": "mass", "text": "新品上市｜试用装限量领取"},
        {"type": "tag_add", "tags": ["高意向"]},
    ]}],
}  # fmt: skip


def _reads(fake: FakeWeCom) -> list[str]:
    """The 企业群发 whose send result was read, one entry per read."""
    calls = fake.calls_to("externalcontact/get_groupmsg_send_result")
    return [str((c["json"] or {}).get("msgid")) for c in calls]


async def _pass(client: Client, clock: ManualClock) -> None:
    await scheduler.tick(client.app, clock.now())
    await settle(client.app)


async def _step(client: Client, euid: str) -> SopRun:
    async with client.app[DB]() as session:
        run = await session.scalar(
            select(SopRun).where(SopRun.external_userid == euid, SopRun.rule_id == "taskmass")
        )
    assert run is not None
    return run


async def _added(client: Client, fake: FakeWeCom, clock: ManualClock, euid: str) -> SopRun:
    async with client.app[DB].begin() as session:
        await rules.store(session, [rules.validate(RULE)], now=clock.now() - timedelta(days=1))
    fake.add_contact(euid, name="小美", follow_user=["zhangsan"])
    await deliver(fake, fake.xml_add_external_contact("zhangsan", euid, "", f"C{euid}"))
    await _pass(client, clock)
    run = await _step(client, euid)
    assert (run.status, run.note) == ("task", "小美您好，新品试用装已为您预留。")
    assert run.mass_note == "已提交企业群发，待员工确认"
    sent = [c["json"] for c in fake.calls_to("externalcontact/add_msg_template")]
    assert [b["external_userid"] for b in sent] == [[euid]]
    return run


async def test_a_task_with_a_mass_reports_the_mass_result_and_stays_a_task(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    await _added(life, fake, clock, "wmTM1")
    clock.advance(EVERY)
    await _pass(life, clock)
    assert len(_reads(fake)) == 1
    msgid = _reads(fake)[0]
    run = await _step(life, "wmTM1")
    assert (run.status, run.mass_note) == ("task", "已提交企业群发，待员工确认")
    assert mass.with_mass("待员工发送", run) == "待员工发送；已提交企业群发，待员工确认"
    async with life.app[DB].begin() as session:  # the rep sends the task from the sidebar
        assert [r.id for r in await runs.tasks_of(session, "zhangsan", external_userid="wmTM1")
                if r.rule_id == "taskmass"] == [run.id]  # fmt: skip
        rep = await session.get(Staff, "zhangsan")
        assert rep is not None
        await runs.complete_task(session, rep, run.id, now=clock.now())
    assert fake.confirm_mass("zhangsan") == 1  # and confirms the 群发 in WeCom
    clock.advance(EVERY)
    await _pass(life, clock)
    run = await _step(life, "wmTM1")
    assert (run.status, run.note, run.done_by) == ("sent", "小美您好，新品试用装已为您预留。",
                                                   "zhangsan")  # fmt: skip
    assert (run.mass_note, run.mass_check_at) == ("企业群发已送达", None)
    async with life.app[DB]() as session:
        entries, _more = await timeline.page(session, "wmTM1")
    titles = [e.title for e in entries if e.kind == "sop" and "新品试用" in e.title]
    assert titles == ["SOP「新品试用」第 1 步 · 员工已发送；企业群发已送达"]
    assert _reads(fake).count(msgid) == 2
    clock.advance(EVERY)
    await _pass(life, clock)  # the result is in: not read again
    assert _reads(fake).count(msgid) == 2


async def test_an_unconfirmed_mass_beside_a_waiting_task_is_reported_after_three_days(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    await _added(life, fake, clock, "wmTM2")
    clock.advance(3 * 86400 + 60)
    await _pass(life, clock)
    run = await _step(life, "wmTM2")
    assert (run.status, run.note) == ("task", "小美您好，新品试用装已为您预留。")
    assert run.mass_note == "员工 3 天内未确认企业群发，未送达"
    assert mass.with_mass("待员工发送", run) == "待员工发送；员工 3 天内未确认企业群发，未送达"



async def test_the_console_shows_the_mass_beside_the_task(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    """A supervisor reads the task's status with its 群发's state, and the task's text."""
    await _added(life, fake, clock, "wmTM3")
    assert fake.confirm_mass("zhangsan") == 1
    clock.advance(EVERY)
    await _pass(life, clock)
    life.session.cookie_jar.update_cookies(await signed_in_cookie(life.server, "boss"))
    for url in ("/console/sop/rule/taskmass", "/console/customers/wmTM3"):
        resp = await life.get(url, allow_redirects=False)
        assert resp.status == 200, url
        body = await resp.text()
        assert "待员工发送；企业群发已送达" in body, url
        assert "小美您好，新品试用装已为您预留。" in body, url
