"""Command tests run through the real callback endpoint against the fake WeCom.

The team: alice and bob (reps, department 1), carol (rep, department 2), lead1 (supervisor of
department 1, also seeded by SIDEKICK_SUPERVISORS), boss (admin, seeded by SIDEKICK_ADMINS).
Customers: c1 张三 (alice, remark "张总 13800001234"), c2 张珊 (alice), c3 李四 (bob),
c4 王五 (carol). Corp tags: VIP, 高意向客户, 投诉.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.keys import DB, WECOM
from bot.domain import tags
from bot.domain.models import Customer, FollowRelation, Staff
from bot.sandbox.fake import FakeWeCom

CUSTOMERS = [
    ("c1", "张三", "alice", "张总 13800001234"),
    ("c2", "张珊", "alice", ""),
    ("c3", "李四", "bob", ""),
    ("c4", "王五", "carol", ""),
]
TAGS = ["VIP", "高意向客户", "投诉"]


@pytest.fixture
async def team(
    client: TestClient[web.Request, web.Application],
    fake: FakeWeCom,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[str, Any]:
    """Seed staff, customers (locally and in the fake) and the tag library."""
    async with sessionmaker.begin() as session:
        session.add_all(
            [
                Staff(userid="alice", name="Alice", departments=[1], role="rep"),
                Staff(userid="bob", name="Bob", departments=[1], role="rep"),
                Staff(userid="carol", name="Carol", departments=[2], role="rep"),
                Staff(userid="lead1", name="Lead", departments=[1], role="supervisor"),
                Staff(userid="boss", name="Boss", departments=[1, 2], role="admin"),
            ]
        )
        for euid, name, rep, remark in CUSTOMERS:
            session.add(Customer(external_userid=euid, name=name))
            await session.flush()
            session.add(FollowRelation(userid=rep, external_userid=euid, remark=remark))
            fake.add_contact(euid, name=name, follow_user=[rep])
    await tags.ensure_tags(client.app[DB], client.app[WECOM], TAGS)
    fake.calls.clear()
    return {"client": client}
