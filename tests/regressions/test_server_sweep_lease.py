"""A row being handled is never claimed by another worker, however long the handler runs.

The sweeper claimed up to 50 rows at once (claimed_at = now) and then ran them one after the
other, so rows waiting their turn, and a handler running longer than the lease, looked like
a crashed worker's claims: another worker's sweep took them too and ran them a second time.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core.db import utcnow
from bot.core.keys import DB, INBOX, ROUTER
from bot.domain.models import InboxItem
from bot.inbound import dispatch, inbox
from bot.inbound.router import EventContext, Reply
from tests.conftest import make_settings
from tests.helpers import click_xml


async def test_rows_in_a_sweep_are_not_reclaimed_while_it_runs(
    db_path: Path, fake_server: TestServer, aiohttp_client: Any
) -> None:
    lease = 0.3
    app = create_app(make_settings(db_path, fake_server, inbox_lease=lease))
    calls: list[str] = []

    async def slow(ctx: EventContext) -> Reply | None:
        calls.append(ctx.event.from_user)
        await asyncio.sleep(2 * lease)  # longer than the lease
        return None

    app[ROUTER].on("event", "click")(slow)
    client = await aiohttp_client(app)
    async with client.app[DB].begin() as session:
        for user in ("u1", "u2"):
            session.add(
                InboxItem(
                    dedup_key=f"ev:{user}:click:1700000000",
                    kind="event/click",
                    payload=click_xml(user).decode(),
                    status="pending",
                    attempts=1,
                    next_attempt_at=utcnow() - timedelta(seconds=1),
                )
            )
    sweeping = asyncio.create_task(dispatch.sweep(client.app))
    stolen: list[int] = []
    for _ in range(8):  # look throughout both handlers' runs, as another worker's sweep would
        await asyncio.sleep(lease / 2)
        other = await inbox.claim_due(client.app[DB], instance="other", now=utcnow(), lease=lease)
        stolen += [item.id for item in other]
        for item in other:  # the other worker runs what it took at once
            await client.app[INBOX].done(item.id, utcnow())
    processed = await sweeping
    # Another worker may take a row this sweep has not started yet, but never one it runs:
    # every row is run exactly once between the two.
    assert processed + len(stolen) == 2
    assert len(calls) == processed
    assert len(set(calls)) == len(calls)
