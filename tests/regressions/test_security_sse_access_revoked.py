"""An open live-event stream stops once the viewer may no longer see the customer.

The access check used to run only when the stream opened, so a rep whose customer was moved to
another rep (or who was deactivated) kept receiving that customer's messages for as long as the
page stayed open.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.keys import CACHE
from bot.domain.models import FollowRelation, Staff
from bot.domain.pipeline import sidebar_channel
from bot.sandbox.fake import FakeWeCom
from tests.sidebar.conftest import Client, sign_in

ALICE_C = "wmalice000001"


async def _open(client: Client) -> Any:
    resp = await client.get(f"/sidebar/api/customers/{ALICE_C}/events")
    assert resp.status == 200
    assert b"connected" in await resp.content.readuntil(b"\n\n")
    return resp


async def _publish(client: Client, text: str) -> None:
    payload = {"type": "customer_message", "source": "kf", "text": text}
    await client.app[CACHE].publish(sidebar_channel(ALICE_C), json.dumps(payload))


async def _rest_of_stream(resp: Any) -> bytes:
    return await asyncio.wait_for(resp.content.read(), 5)


async def test_stream_ends_when_the_customer_moves_to_another_rep(
    client: Client,
    fake: FakeWeCom,
    sidebar_team: None,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(client, fake, "alice")
    resp = await _open(client)
    await _publish(client, "still yours")
    assert b"still yours" in await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    async with sessionmaker.begin() as session:
        await session.execute(
            update(FollowRelation)
            .where(FollowRelation.external_userid == ALICE_C)
            .values(userid="bob")
        )
    await _publish(client, "not yours any more")
    assert b"not yours any more" not in await _rest_of_stream(resp)
    resp.close()


async def test_stream_ends_when_the_viewer_is_deactivated(
    client: Client,
    fake: FakeWeCom,
    sidebar_team: None,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(client, fake, "alice")
    resp = await _open(client)
    async with sessionmaker.begin() as session:
        await session.execute(update(Staff).where(Staff.userid == "alice").values(active=False))
    await _publish(client, "for active staff only")
    assert b"for active staff only" not in await _rest_of_stream(resp)
    resp.close()
