"""Service tests: a real SQLite file with the models' schema and a WeComClient on the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import db
from bot.core.cache import MemoryCache
from bot.core.settings import Settings
from bot.domain.models import Customer, FollowRelation, Staff
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient
from tests import conftest


@pytest.fixture
async def sm(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on a fresh SQLite file built from the models."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'services.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(db.Base.metadata.create_all)
    yield db.create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def session(sm: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One open transaction (rolled back at the end)."""
    async with sm() as session:
        yield session


@pytest.fixture
async def wecom(fake_server: TestServer) -> AsyncIterator[WeComClient]:
    """The real client aimed at the fake."""
    async with aiohttp.ClientSession() as http:
        yield WeComClient(
            http,
            MemoryCache(),
            base_url=str(fake_server.make_url("")).rstrip("/"),
            corp_id=conftest.CORP_ID,
            secret=conftest.SECRET,
            agent_id=conftest.AGENT_ID,
            backoff=0.0,
        )


@pytest.fixture
def svc_settings() -> Settings:
    """Settings with one admin and one supervisor seeded."""
    return Settings(admins="boss", supervisors="lead1", corp_id=conftest.CORP_ID)  # type: ignore[call-arg]


async def seed_team(session: AsyncSession, fake: FakeWeCom | None = None) -> None:
    """Two reps in department 1 (alice, bob), carol in 2, lead1 supervising 1, boss admin.

    Customers: c1 张三 (alice), c2 张珊 (alice), c3 李四 (bob), c4 王五 (carol).
    """
    session.add_all(
        [
            Staff(userid="alice", name="Alice", departments=[1], role="rep"),
            Staff(userid="bob", name="Bob", departments=[1], role="rep"),
            Staff(userid="carol", name="Carol", departments=[2], role="rep"),
            Staff(userid="lead1", name="Lead", departments=[1], role="supervisor"),
            Staff(userid="boss", name="Boss", departments=[], role="admin"),
        ]
    )
    for euid, name, rep, remark in [
        ("c1", "张三", "alice", "张总 13800001234"),
        ("c2", "张珊", "alice", ""),
        ("c3", "李四", "bob", ""),
        ("c4", "王五", "carol", ""),
    ]:
        session.add(Customer(external_userid=euid, name=name))
        await session.flush()
        session.add(FollowRelation(userid=rep, external_userid=euid, remark=remark))
        if fake is not None:
            fake.add_contact(euid, name=name, follow_user=[rep])
    await session.flush()
