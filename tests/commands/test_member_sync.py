"""Members' names and departments come from WeCom (user/get), first seen and then daily.

The org in the fake: zhangsan and lisi (reps) and lead1 (supervisor, from settings) in
department 2; wangwu (rep) and lead2 in department 3; boss (admin, from settings) in 1.
Customers: c1 客户甲 (zhangsan), c2 客户乙 (wangwu). Nobody has a local Staff row at first.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import utcnow
from bot.core.errors import WeComError
from bot.core.keys import SETTINGS
from bot.domain import staff as staff_service
from bot.domain.models import Customer, FollowRelation, Staff
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import NETWORK_ERRCODE, WeComClient
from tests.helpers import message_content, say, sent_to

Client = TestClient[web.Request, web.Application]
Maker = async_sessionmaker[AsyncSession]

ORG = [
    ("zhangsan", "张三", [2]),
    ("lisi", "李四", [2]),
    ("lead1", "刘主管", [2]),
    ("wangwu", "王五", [3]),
    ("lead2", "赵主管", [3]),
    ("boss", "老板", [1]),
]


@pytest.fixture
async def org(client: Client, fake: FakeWeCom, sessionmaker: Maker) -> None:
    """The fake's address book and two customers; no member is known locally yet."""
    for userid, name, departments in ORG:
        fake.add_member(userid, name, departments, position="客服")
    async with sessionmaker.begin() as session:
        for euid, name, rep in (("c1", "客户甲", "zhangsan"), ("c2", "客户乙", "wangwu")):
            session.add(Customer(external_userid=euid, name=name))
            await session.flush()
            session.add(FollowRelation(userid=rep, external_userid=euid))
            fake.add_contact(euid, name=name, follow_user=[rep])
    fake.calls.clear()


async def _staff(sessionmaker: Maker, userid: str) -> Staff:
    async with sessionmaker() as session:
        row = await session.get(Staff, userid)
    assert row is not None
    return row


def _user_gets(fake: FakeWeCom, userid: str) -> int:
    return sum(1 for c in fake.calls_to("user/get") if c["query"].get("userid") == userid)


@pytest.mark.usefixtures("org")
async def test_supervisor_from_settings_gets_departments_and_sees_only_that_team(
    fake: FakeWeCom, sessionmaker: Maker
) -> None:
    await say(fake, "zhangsan", "/help")  # reps become known (and synced) by their first command
    await say(fake, "wangwu", "/help")
    found = await say(fake, "lead1", "/find 客户")
    assert "客户甲" in found
    assert "客户乙" not in found
    assert "没有设置部门" not in await say(fake, "lead1", "/stats 今天")
    lead = await _staff(sessionmaker, "lead1")
    assert (lead.name, lead.departments, lead.role) == ("刘主管", [2], "supervisor")
    assert lead.synced_at is not None


@pytest.mark.usefixtures("org")
async def test_rep_name_and_main_department_after_sync(
    fake: FakeWeCom, sessionmaker: Maker
) -> None:
    fake.add_member("lisi", "李四", [5, 2], main_department=2)
    await say(fake, "lisi", "/help")
    lisi = await _staff(sessionmaker, "lisi")
    assert (lisi.name, lisi.departments, lisi.role) == ("李四", [2, 5], "rep")
    assert "李四（lisi）：客服，部门 2、5" in await say(fake, "boss", "/role lisi")


@pytest.mark.usefixtures("org")
async def test_sync_never_changes_the_role(fake: FakeWeCom, sessionmaker: Maker) -> None:
    assert "已把 李四（lisi） 设为主管" in await say(fake, "boss", "/role lisi 主管 9")
    async with sessionmaker.begin() as session:  # a day later: the next sync is due
        row = await session.get(Staff, "lisi")
        assert row is not None
        assert row.departments == [9]
        row.synced_at = utcnow() - timedelta(days=1, minutes=1)
    await say(fake, "lisi", "/help")  # WeCom's departments replace 9
    lisi = await _staff(sessionmaker, "lisi")
    assert (lisi.role, lisi.departments, lisi.name) == ("supervisor", [2], "李四")


@pytest.mark.parametrize("errcode", [60111, 60011, 48002])
async def test_refusals_keep_local_data(
    client: Client,
    fake: FakeWeCom,
    sessionmaker: Maker,
    caplog: pytest.LogCaptureFixture,
    errcode: int,
) -> None:
    async with sessionmaker.begin() as session:
        session.add(Staff(userid="lead1", name="老刘", departments=[7], role="supervisor"))
    if errcode != 60111:  # 60111: the fake simply has no such member
        fake.add_member("lead1", "刘主管", [2])
        fake.fail_next("user/get", errcode)
    with caplog.at_level(logging.WARNING, logger="bot.domain.staff"):
        reply = await say(fake, "lead1", "/stats 今天")
    assert "【今天】我的团队" in reply
    assert f"errcode={errcode}" in caplog.text
    lead = await _staff(sessionmaker, "lead1")
    assert (lead.name, lead.departments, lead.role) == ("老刘", [7], "supervisor")
    # WeCom answered, so it is not asked again today.
    await say(fake, "lead1", "/help")
    assert _user_gets(fake, "lead1") == 1


@pytest.mark.usefixtures("org")
async def test_sync_once_a_day(fake: FakeWeCom, sessionmaker: Maker) -> None:
    await say(fake, "zhangsan", "/help")
    await say(fake, "zhangsan", "/find 客户")
    await say(fake, "zhangsan", "/nosuchcommand")
    assert _user_gets(fake, "zhangsan") == 1
    fake.add_member("zhangsan", "张三丰", [3])  # moved in WeCom
    async with sessionmaker.begin() as session:
        row = await session.get(Staff, "zhangsan")
        assert row is not None
        row.synced_at = utcnow() - timedelta(days=1, minutes=1)
    await say(fake, "zhangsan", "/help")
    assert _user_gets(fake, "zhangsan") == 2
    row = await _staff(sessionmaker, "zhangsan")
    assert (row.name, row.departments) == ("张三丰", [3])


async def test_unreachable_wecom_is_retried_next_time(client: Client, sessionmaker: Maker) -> None:
    class Down:
        calls = 0

        async def get_user(self, userid: str) -> dict[str, Any]:
            Down.calls += 1
            raise WeComError(NETWORK_ERRCODE, "connection refused", "user/get")

    down = cast(WeComClient, Down())
    settings = client.app[SETTINGS]
    for _ in range(2):
        assert not await staff_service.ensure_synced(sessionmaker, settings, down, "lead1")
    assert Down.calls == 2  # no answer: nothing recorded, so the next sight asks again
    lead = await _staff(sessionmaker, "lead1")
    assert (lead.synced_at, lead.departments, lead.role) == (None, [], "supervisor")


@pytest.mark.usefixtures("org")
async def test_escalation_goes_to_the_synced_supervisor_of_the_reps_department(
    fake: FakeWeCom,
) -> None:
    assert "已把 赵主管（lead2） 设为主管" in await say(fake, "boss", "/role lead2 主管")
    for userid in ("lead1", "lead2", "zhangsan", "wangwu"):
        await say(fake, userid, "/help")
    before = len(fake.calls)
    reply = await say(fake, "wangwu", "/escalate 客户乙 要求退款")
    assert "已通知：赵主管（lead2）" in reply
    alerts = sent_to(fake, "lead2", before)
    assert alerts
    assert "员工：王五（wangwu）" in message_content(alerts[0])
    assert not sent_to(fake, "lead1", before)  # the settings' supervisor is another department's

    before = len(fake.calls)
    await say(fake, "zhangsan", "/escalate 客户甲 投诉")
    assert sent_to(fake, "lead1", before)
    assert not sent_to(fake, "lead2", before)
    assert "王五（wangwu）" in await say(fake, "lead2", "/escalations")
