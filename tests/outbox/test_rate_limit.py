"""WeCom's refusals and our per-member rate window delay alerts; none is lost or doubled."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.core.clock import ManualClock
from bot.core.keys import CLOCK, DB
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say, settle, texts_to
from tests.sidebar.conftest import Client

ESCALATIONS = 200
REFUSED = 150


async def test_every_alert_is_delivered_once_through_refusals_and_the_rate_limit(
    client: Client, fake: FakeWeCom, team: None
) -> None:
    app = client.app
    clock = app[CLOCK]
    assert isinstance(clock, ManualClock)
    # WeCom answers "frequency exceeded" and "busy" to the first 150 alert sends.
    for n in range(REFUSED):
        fake.fail_next("message/send", 45009 if n % 2 else -1)
    for n in range(ESCALATIONS):
        assert "已升级" in await say(fake, "alice", f"/escalate 张三 第{n}次投诉")
    for _ in range(60):  # at most an hour of the clock: back-off caps at 15 minutes
        async with app[DB]() as session:
            waiting = await session.scalar(
                select(func.count()).select_from(Effect).where(Effect.status != "done")
            )
        if not waiting:
            break
        clock.advance(61)  # the next minute: retries fall due, the per-member window reopens
        await settle(app)
    alerts = [t for t in texts_to(fake, "lead1") if t.startswith("【客户升级")]
    ids = sorted(int(re.match(r"【客户升级 #(\d+)】", t).group(1)) for t in alerts)  # type: ignore[union-attr]
    assert ids == list(range(1, ESCALATIONS + 1))  # every alert, none twice
    refused = [c for c in fake.calls_to("message/send") if c["errcode"] in (45009, -1)]
    assert len(refused) == REFUSED
    async with app[DB]() as session:
        parked = await session.scalar(
            select(func.count()).select_from(Effect).where(Effect.status == "parked")
        )
    assert parked == 0
