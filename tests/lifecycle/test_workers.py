"""Two workers on one database run each due SOP step once, and start each run once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain.lifecycle_models import SopRun
from bot.domain.models import Customer, FollowRelation
from bot.sandbox.fake import FakeWeCom
from handlers import sop as scheduler
from tests.helpers import settle_all, texts_to
from tests.lifecycle.conftest import Client


async def test_two_workers_start_and_run_each_step_once(
    life: Client, fake: FakeWeCom,
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> None:  # fmt: skip
    app1 = life.app
    other = await aiohttp_client(create_app(app1[SETTINGS], clock=app1[CLOCK]))
    app2 = other.app
    now = app1[CLOCK].now()
    async with app1[DB].begin() as session:
        for i in range(30):  # silent since just after the rules' last look
            euid = f"wmT{i:02d}"
            session.add(Customer(external_userid=euid, name=f"客{i}",
                                 last_interaction_at=now - timedelta(days=30, minutes=1)))
            await session.flush()
            session.add(FollowRelation(userid="zhangsan", external_userid=euid,
                                       added_at=now - timedelta(days=90)))  # fmt: skip
            fake.add_contact(euid, name=f"客{i}", follow_user=["zhangsan"])
    await asyncio.gather(scheduler.tick(app1, now), scheduler.tick(app2, now))
    await asyncio.gather(scheduler.tick(app1, now), scheduler.tick(app2, now))
    await settle_all(app1, app2)
    async with app1[DB]() as session:
        runs = await session.scalar(select(func.count()).select_from(SopRun)
                                    .where(SopRun.rule_id == "silent"))  # fmt: skip
    assert runs == 60  # 30 customers x 2 steps
    tasks = [t for t in texts_to(fake, "zhangsan") if "好久不见" in t]
    assert len(tasks) == 30
    assert len(set(tasks)) == 30
    marks = fake.calls_to("externalcontact/mark_tag")
    marked = sorted(c["json"]["external_userid"] for c in marks)
    assert marked == [f"wmT{i:02d}" for i in range(30)]
