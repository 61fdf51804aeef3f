"""A server killed in the middle of a due SOP step neither loses nor repeats it (real
processes, SIGKILL): inside the step's transaction, and just after its commit."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from bot.core import db
from bot.domain.lifecycle_models import SopRule, SopRun
from bot.domain.models import Customer, FollowRelation, Staff
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from tests import processes
from tests.helpers import texts_to

STEP = [{"delay": 0, "actions": [{"type": "notify", "to": "rep", "text": "回访 {customer}"}]}]


async def _seed(url: str) -> None:
    engine = db.create_engine(url)
    async with db.create_sessionmaker(engine).begin() as session:
        session.add(Staff(userid="alice", name="Alice", departments=[1]))
        session.add(Customer(external_userid="wmC1", name="小陈"))
        await session.flush()
        session.add(FollowRelation(userid="alice", external_userid="wmC1"))
        # Its trigger finds nothing here: the test makes the one step due by hand.
        session.add(SopRule(id="r1", name="回访", trigger={"kind": "followup_overdue"},
                            conditions={}, steps=STEP))  # fmt: skip
        await session.flush()
        session.add(SopRun(rule_id="r1", external_userid="wmC1", userid="alice",
                           occurrence="manual:1", step=0,
                           due_at=db.utcnow() + timedelta(days=365)))  # fmt: skip
    await engine.dispose()


async def _make_due(url: str) -> None:
    engine = db.create_engine(url)
    async with db.create_sessionmaker(engine).begin() as session:
        await session.execute(update(SopRun).values(due_at=db.utcnow() - timedelta(seconds=1)))
    await engine.dispose()


async def _state(url: str) -> tuple[str, int]:
    engine = db.create_engine(url)
    async with db.create_sessionmaker(engine)() as session:
        status = await session.scalar(select(SopRun.status))
        effects = len(list(await session.scalars(select(Effect.id))))
    await engine.dispose()
    return str(status), effects


@pytest.mark.parametrize("fault", ["kill_in_sop_step", "kill_after_sop_step"])
async def test_killed_mid_step_runs_it_exactly_once_after_restart(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom, fault: str
) -> None:
    url = f"sqlite+aiosqlite:///{db_path}"
    await _seed(url)
    api = str(fake_server.make_url("")).rstrip("/")
    env = processes.production_env(api, url, SIDEKICK_SOP_INTERVAL="0.2",
                                   SIDEKICK_DIRECTORY_SYNC="0")  # fmt: skip
    port = processes.free_port()
    doomed = await processes.start({**env, "SIDEKICK_FAULT": fault}, port)
    await _make_due(url)
    assert await asyncio.wait_for(doomed.wait(), 20) == -9
    status, effects = await _state(url)
    if fault == "kill_in_sop_step":
        assert (status, effects) == ("pending", 0)  # rolled back: neither step nor effect
    else:
        assert (status, effects) == ("done", 1)  # committed together, not yet delivered
    assert texts_to(fake, "alice") == []

    server = await processes.start(env, port)
    try:
        for _ in range(250):
            if texts_to(fake, "alice"):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # several more passes: nothing repeats
    finally:
        await processes.kill(server)
    assert texts_to(fake, "alice") == ["【SOP】回访\n回访 小陈"]
    # Counted raw too: WeCom's duplicate check would hide a repeat from texts_to.
    assert len(fake.calls_to("message/send")) == 1
    assert await _state(url) == ("done", 1)
