"""settle() returned while the sender's own loop had claimed an effect but not yet started
sending it: the claim had committed (the row is `sending`, so settle's drain found nothing)
and the loop had not yet put the delivery in flight. Tests then read the fake's calls too
early (the PostgreSQL lifecycle tests failed about one run in ten), and close() on shutdown
could stop waiting for such an effect.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.core.keys import DB, OUTBOX
from bot.domain import notify
from bot.sandbox.fake import FakeWeCom
from tests.helpers import texts_to
from tests.sidebar.conftest import Client

# How long the claim that committed lets settle() run before it goes on: long enough for the
# old settle to finish, harmless for the fixed one (it waits for the claim).
GIVE = 0.5


async def test_settle_waits_for_an_effect_its_loop_claimed_but_has_not_sent(
    client: Client, fake: FakeWeCom, team: None
) -> None:
    app: web.Application = client.app
    sender = app[OUTBOX]
    original = sender._claim
    committed, started = asyncio.Event(), asyncio.Event()
    settling: list[asyncio.Task[None]] = []

    async def slow_after_commit(limit: int) -> list:  # type: ignore[type-arg]
        claimed = await original(limit)
        if claimed and not committed.is_set():
            committed.set()  # the rows are `sending` now; let settle() run meanwhile
            await started.wait()
            await asyncio.wait(settling, timeout=GIVE)
        return claimed

    sender._claim = slow_after_commit  # type: ignore[method-assign]
    async with app[DB].begin() as session:  # the commit wakes the sender's own loop
        assert await notify.notify(session, "alice", "结算提醒", key="settle-race")
    pump = asyncio.create_task(sender.pump())  # (or this one claims it: either will do)
    await asyncio.wait_for(committed.wait(), 30)
    settling.append(asyncio.create_task(sender.settle()))
    started.set()
    await settling[0]
    assert texts_to(fake, "alice") == ["结算提醒"], "settle returned before the claimed send"
    await pump
