"""The address book mirrored from WeCom: departments, names, who left, once across workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.core import db
from bot.core.cache import MemoryCache
from bot.core.db import utcnow
from bot.core.errors import WeComError
from bot.core.keys import DB, SETTINGS, WECOM
from bot.domain import directory
from bot.domain.models import Department, Staff
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient
from tests.conftest import make_settings

Client = TestClient[web.Request, web.Application]
Maker = async_sessionmaker[AsyncSession]
HOUR = timedelta(hours=1)


def _org(fake: FakeWeCom) -> None:
    fake.add_department(1, "花漾肌研")
    fake.add_department(2, "客服一组")
    fake.add_department(3, "客服二组", parent_id=2)
    fake.add_member("zhangsan", "张三", [2])
    fake.add_member("lisi", "李四", [2, 3], main_department=3)
    fake.add_member("lead1", "刘主管", [2])
    fake.add_member("boss", "老板", [1])


async def _sync(client: Client, every: timedelta = HOUR) -> directory.Outcome | None:
    app = client.app
    return await directory.sync(app[DB], app[SETTINGS], app[WECOM], now=utcnow(), every=every)


async def _staff(sm: Maker) -> dict[str, Staff]:
    async with sm() as session:
        return {s.userid: s for s in await session.scalars(select(Staff))}


async def test_names_departments_and_roles(
    client: Client, fake: FakeWeCom, sessionmaker: Maker
) -> None:
    _org(fake)
    outcome = await _sync(client)
    assert outcome is not None
    assert (outcome.departments, outcome.members, outcome.new) == (3, 4, 4)
    staff = await _staff(sessionmaker)
    assert staff["lisi"].name == "李四"
    assert staff["lisi"].departments == [3, 2]  # the main department first
    assert staff["lead1"].role == "supervisor"  # SIDEKICK_SUPERVISORS, on first sight
    assert staff["boss"].role == "admin"
    async with sessionmaker() as session:
        names = {d.id: d.name for d in await session.scalars(select(Department))}
    assert names == {1: "花漾肌研", 2: "客服一组", 3: "客服二组"}


async def test_who_left_becomes_inactive_and_the_invisible_stay(
    client: Client, fake: FakeWeCom, sessionmaker: Maker
) -> None:
    _org(fake)
    fake.add_member("quit", "刚离职", [2], status=5)  # still answers user/get, with status 5
    async with sessionmaker.begin() as session:
        session.add_all([
            Staff(userid="away", name="看不见的", departments=[9]),  # outside the app's range
            Staff(userid="gone", name="离职的", departments=[2]),  # WeCom: no such member
            Staff(userid="quit", name="刚离职", departments=[2]),
            Staff(userid="lisi", name="李四", departments=[2], role="supervisor"),
        ])  # fmt: skip
    fake.fail_next("user/get", 60011)  # absent members are asked in order: "away" first
    outcome = await _sync(client)
    assert outcome is not None
    asked = [c["query"]["userid"] for c in fake.calls_to("user/get")]
    assert asked == ["away", "gone", "quit"]
    staff = await _staff(sessionmaker)
    assert staff["away"].active is True  # 60011 says nothing about leaving
    assert staff["gone"].active is False  # 60111
    assert staff["quit"].active is False  # status 5
    assert staff["lisi"].role == "supervisor"  # a sync never changes the role
    assert staff["lisi"].name == "李四"
    assert sorted(outcome.left) == ["gone", "quit"]


async def test_an_empty_listing_deactivates_nobody(
    client: Client, fake: FakeWeCom, sessionmaker: Maker
) -> None:
    async with sessionmaker.begin() as session:
        session.add(Staff(userid="alice", name="Alice", departments=[1]))
    outcome = await _sync(client)
    assert outcome is not None
    assert outcome.members == 0
    assert (await _staff(sessionmaker))["alice"].active is True
    assert not fake.calls_to("user/get")


async def test_once_per_interval_and_a_failure_gives_the_lease_back(
    client: Client, fake: FakeWeCom
) -> None:
    _org(fake)
    fake.fail_next("user/list", 60011)
    with pytest.raises(WeComError):
        await _sync(client)
    assert await _sync(client) is not None  # the failed run did not hold the lease
    assert await _sync(client) is None  # within the hour: nothing to do
    assert await _sync(client, every=timedelta(0)) is not None


async def test_workers_starting_together_sync_once(
    client: Client, fake: FakeWeCom, sessionmaker: Maker
) -> None:
    _org(fake)
    outcomes = await asyncio.gather(*(_sync(client) for _ in range(4)))
    assert sum(o is not None for o in outcomes) == 1
    assert len(fake.calls_to("department/list")) == 1


async def test_workers_on_postgres_sync_once(
    pg_url: str, fake: FakeWeCom, fake_server: TestServer, tmp_path: Any
) -> None:
    _org(fake)
    settings = make_settings(tmp_path / "unused.db", fake_server, database_url=pg_url)
    engines = [db.create_engine(pg_url) for _ in range(3)]
    makers = [db.create_sessionmaker(e) for e in engines]

    async def worker(maker: Maker) -> directory.Outcome | None:
        async with aiohttp.ClientSession() as http:
            wecom = WeComClient(http, MemoryCache(), base_url=settings.api_base,
                                corp_id=settings.corp_id, secret="test-secret",
                                agent_id=settings.agent_id)  # fmt: skip
            return await directory.sync(maker, settings, wecom, now=utcnow(), every=HOUR)

    try:
        outcomes = await asyncio.gather(*(worker(m) for m in makers))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(o is not None for o in outcomes) == 1
    assert len(fake.calls_to("department/list")) == 1


async def test_the_periodic_sync_runs_at_start_up(
    fake: FakeWeCom, fake_server: TestServer, db_path: Any, aiohttp_client: Any
) -> None:
    _org(fake)
    settings = make_settings(db_path, fake_server, directory_sync_interval=3600.0)
    client = await aiohttp_client(create_app(settings))
    for _ in range(200):
        staff = await _staff(client.app[DB])
        if "zhangsan" in staff:
            break
        await asyncio.sleep(0.02)
    assert staff["zhangsan"].name == "张三"
