"""The 公海 pool: enter, claim within the daily limit, assign; WeCom's refusal and the limits
give a clear Chinese reply and change nothing here."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.core.errors import UsageError
from bot.core.keys import CLOCK, DB
from bot.domain import pool
from bot.domain.lifecycle_models import CustomerMove, PoolEntry
from bot.domain.models import Customer, FollowRelation
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say
from tests.lifecycle.conftest import Client, bodies

NAMES = {"wmA": "阿一", "wmB": "阿二", "wmC": "阿三", "wmD": "阿四"}


async def _pooled(life: Client, fake: FakeWeCom) -> dict[str, int]:
    async with life.app[DB].begin() as session:
        for euid, name in NAMES.items():
            session.add(Customer(external_userid=euid, name=name))
            await session.flush()
            session.add(FollowRelation(userid="zhangsan", external_userid=euid))
            fake.add_contact(euid, name=name, follow_user=["zhangsan"])
    for name in NAMES.values():
        assert "移入公海" in await say(fake, "lead1", f"/pooladd {name} 长期未成交")
    async with life.app[DB]() as session:
        rows = (await session.execute(select(PoolEntry.external_userid, PoolEntry.id))).all()
    return {euid: entry_id for euid, entry_id in rows}


async def _state(life: Client) -> tuple[list[tuple[str, str]], int]:
    async with life.app[DB]() as session:
        entries = (await session.execute(
            select(PoolEntry.external_userid, PoolEntry.status).order_by(PoolEntry.id))).all()
        moves = await session.scalar(select(func.count()).select_from(CustomerMove))
    return [(e, s) for e, s in entries], int(moves or 0)  # fmt: skip


async def test_claims_within_the_daily_limit_move_the_customer_in_wecom(
    life: Client, fake: FakeWeCom
) -> None:
    ids = await _pooled(life, fake)
    listing = await say(fake, "lisi", "/pool")
    assert "公海客户 4 位" in listing
    assert f"#{ids['wmA']} 阿一" in listing
    assert "已领取 阿一" in await say(fake, "lisi", f"/claim {ids['wmA']}")
    assert "已领取 阿二" in await say(fake, "lisi", f"/claim {ids['wmB']}")
    moved = bodies(fake, "externalcontact/transfer_customer")
    assert [(b["handover_userid"], b["takeover_userid"], b["external_userid"]) for b in moved] == [
        ("zhangsan", "lisi", ["wmA"]), ("zhangsan", "lisi", ["wmB"])
    ]

    before = await _state(life)
    reply = await say(fake, "lisi", f"/claim {ids['wmC']}")
    assert "今天已领取 2 位客户，达到每日上限 2 位" in reply
    assert len(fake.calls_to("externalcontact/transfer_customer")) == 2
    assert await _state(life) == before


async def test_wecom_refusal_is_explained_and_changes_nothing(
    life: Client, fake: FakeWeCom, fake_server: TestServer
) -> None:
    ids = await _pooled(life, fake)
    before = await _state(life)
    fault = {"path": "externalcontact/transfer_customer", "errcode": 84061}
    async with (
        aiohttp.ClientSession() as http,
        http.post(fake_server.make_url("/_faults"), json=fault) as resp,
    ):
        assert resp.status == 200
    reply = await say(fake, "lead1", f"/poolassign {ids['wmC']} lisi")
    assert "企业微信拒绝了转接：该员工与客户不是好友关系（errcode 84061）" in reply
    assert await _state(life) == before
    # Once WeCom accepts, the same assignment goes through.
    reply = await say(fake, "lead1", f"/poolassign {ids['wmC']} lisi")
    assert "已把 阿三 指派给 李四（lisi）" in reply


async def test_wecom_move_limits_are_checked_before_asking(life: Client) -> None:
    app = life.app
    now = app[CLOCK].now()
    async with app[DB].begin() as session:
        session.add(Customer(external_userid="wmL", name="限"))
        await session.flush()
        session.add(CustomerMove(external_userid="wmL", to_userid="lisi",
                                 at=now - timedelta(hours=2)))  # fmt: skip
    async with app[DB]() as session:
        with pytest.raises(UsageError, match="正在转接中"):
            await pool.check_moves(session, "wmL", now)
    async with app[DB].begin() as session:
        session.add(CustomerMove(external_userid="wmL", to_userid="zhangsan",
                                 at=now - timedelta(days=30)))  # fmt: skip
    async with app[DB]() as session:
        with pytest.raises(UsageError, match="90 天内最多转接 2 次"):
            await pool.check_moves(session, "wmL", now + timedelta(days=2))
        await pool.check_moves(session, "wmL", now + timedelta(days=91))
