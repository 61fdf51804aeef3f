"""The 企业群发 read-back is claimed: with two workers on one database WeCom is asked once per
waiting step per interval (its rate limit is per corp), a claim whose worker died is taken
again after the interval, and an error leaves the step for the next one."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.core.clock import ManualClock
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain.lifecycle_models import SopRun
from bot.domain.sop import mass
from bot.domain.sop.actions import MASS_CHECK_EVERY
from bot.sandbox.fake import FakeWeCom
from handlers import sop as scheduler
from tests.flows.conftest import deliver
from tests.helpers import settle_all
from tests.lifecycle.conftest import Client

READ = "externalcontact/get_groupmsg_send_result"
EVERY = int(MASS_CHECK_EVERY.total_seconds())
AppClient = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


async def _second_worker(life: Client, aiohttp_client: AppClient) -> web.Application:
    """Another app instance on the same database and clock (another worker process)."""
    app = life.app
    other = await aiohttp_client(create_app(app[SETTINGS], clock=app[CLOCK]))
    return other.app


async def _massed(
    apps: list[web.Application], fake: FakeWeCom, clock: ManualClock, euids: list[str]
) -> None:
    """The seed rule 新客破冰 has sent its article to the rep's 群发助手 for each customer.

    Every worker's sends are settled before the clock moves: a send still in flight when ten
    minutes pass at once would look like a dead worker's claim and be sent again."""
    for n, euid in enumerate(euids):
        fake.add_contact(euid, name="小美", follow_user=["zhangsan"])
        await deliver(fake, fake.xml_add_external_contact("zhangsan", euid, "", f"MC{n}"))
    await scheduler.tick(apps[0], clock.now())
    await settle_all(*apps)
    clock.advance(10 * 60)
    await scheduler.tick(apps[0], clock.now())
    await settle_all(*apps)
    assert len(fake.calls_to("externalcontact/add_msg_template")) == len(euids)


def _reads(fake: FakeWeCom) -> Counter[str]:
    """WeCom's send result asked so far, per 企业群发."""
    return Counter(str((c["json"] or {}).get("msgid")) for c in fake.calls_to(READ))


async def _passes(
    apps: list[web.Application], fake: FakeWeCom, clock: ManualClock
) -> Counter[str]:
    """A pass on each worker at once; the reads so far, per 企业群发."""
    await asyncio.gather(*(scheduler.tick(app, clock.now()) for app in apps))
    await settle_all(*apps)
    return _reads(fake)


async def _statuses(app: web.Application, euids: list[str]) -> list[tuple[str, str]]:
    async with app[DB]() as session:
        rows = await session.scalars(
            select(SopRun).where(SopRun.external_userid.in_(euids), SopRun.step == 1)
            .order_by(SopRun.external_userid)
        )  # fmt: skip
        return [(r.status, r.note) for r in rows]


async def test_two_workers_read_each_waiting_step_once_per_interval(
    life: Client, fake: FakeWeCom, clock: ManualClock, aiohttp_client: AppClient
) -> None:
    apps = [life.app, await _second_worker(life, aiohttp_client)]
    euids = ["wmCL1", "wmCL2", "wmCL3"]
    await _massed(apps, fake, clock, euids)
    assert await _passes(apps, fake, clock) == Counter()  # the first read is one interval on
    clock.advance(EVERY)
    reads = await _passes(apps, fake, clock)
    assert sorted(reads.values()) == [1, 1, 1]  # three steps, each read by one worker
    # Both pass again within the interval: no read.
    assert await _passes(apps, fake, clock) == reads
    clock.advance(EVERY - 1)
    assert await _passes(apps, fake, clock) == reads
    clock.advance(1)
    reads = await _passes(apps, fake, clock)
    assert sorted(reads.values()) == [2, 2, 2]
    assert fake.confirm_mass("zhangsan") == 3
    clock.advance(EVERY)
    assert sorted((await _passes(apps, fake, clock)).values()) == [3, 3, 3]
    assert await _statuses(life.app, euids) == [("done", "企业群发已送达")] * 3
    clock.advance(EVERY)  # closed: not read again
    assert sorted((await _passes(apps, fake, clock)).values()) == [3, 3, 3]


async def test_a_claim_whose_worker_died_is_taken_again_after_the_interval(
    life: Client, fake: FakeWeCom, clock: ManualClock, aiohttp_client: AppClient
) -> None:
    apps = [life.app, await _second_worker(life, aiohttp_client)]
    await _massed(apps, fake, clock, ["wmCL4"])
    clock.advance(EVERY)
    async with apps[1][DB].begin() as session:  # worker 2 claims the read, then is killed
        claimed = await mass.claim(session, now=clock.now(), limit=scheduler.MASS_PER_PASS)
    assert [c.external_userid for c in claimed] == ["wmCL4"]
    assert await _passes(apps, fake, clock) == Counter()
    assert fake.confirm_mass("zhangsan") == 1
    clock.advance(EVERY - 1)
    assert await _passes(apps, fake, clock) == Counter()
    clock.advance(1)
    assert sorted((await _passes(apps, fake, clock)).values()) == [1]
    assert await _statuses(life.app, ["wmCL4"]) == [("done", "企业群发已送达")]


async def test_a_wecom_error_leaves_the_step_to_the_next_interval(
    life: Client, fake: FakeWeCom, clock: ManualClock
) -> None:
    await _massed([life.app], fake, clock, ["wmCL5"])
    assert fake.confirm_mass("zhangsan") == 1
    clock.advance(EVERY)
    fake.fail_next(READ, 60011)
    await _passes([life.app], fake, clock)
    assert await _statuses(life.app, ["wmCL5"]) == [("mass", "已提交企业群发，待员工确认")]
    reads = _reads(fake)
    assert sum(reads.values()) == 1
    assert await _passes([life.app], fake, clock) == reads  # not again within the interval
    clock.advance(EVERY)
    await _passes([life.app], fake, clock)
    assert await _statuses(life.app, ["wmCL5"]) == [("done", "企业群发已送达")]


async def test_many_waiting_steps_are_read_round_robin(
    life: Client, fake: FakeWeCom, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More waiting steps than one pass reads: the next pass reads the others first."""
    monkeypatch.setattr(scheduler, "MASS_PER_PASS", 2)
    await _massed([life.app], fake, clock, ["wmCL6", "wmCL7", "wmCL8"])
    clock.advance(EVERY)
    assert sorted((await _passes([life.app], fake, clock)).values()) == [1, 1]
    clock.advance(60)
    assert sorted((await _passes([life.app], fake, clock)).values()) == [1, 1, 1]
