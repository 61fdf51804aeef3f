"""Removing a keyword rule's tag left its caution and the 特别关注 badge; and the live view
showed "自动标签：孕期" on the rule hit that a reload of the page did not.

A removed rule tag now takes its caution with it, and special care once no such tag (and no
caution) is left; a reload shows the rule hits exactly as the live event did.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.keys import CACHE
from bot.core.settings import Settings
from bot.domain import pipeline
from bot.domain.models import Customer
from bot.sandbox.fake import FakeWeCom
from tests import conftest
from tests.helpers import say
from tests.sidebar.conftest import Client, seed_kb, sign_in

EUID = "wmalice000001"
PREGNANT = "客户处于孕期或哺乳期"
ALLERGY = "客户可能过敏"


@pytest.fixture
async def settings(db_path: Path, fake_server: TestServer) -> Settings:
    """The demo knowledge base (with its keyword rules) in the database."""
    await seed_kb(db_path)
    return conftest.make_settings(db_path, fake_server)


async def _archive(client: Client, text: str) -> dict[str, Any]:
    """A customer text through the pipeline (as the archive ingest sends it); the live event."""
    subscription = client.app[CACHE].subscribe(pipeline.sidebar_channel(EUID))
    first = asyncio.ensure_future(subscription.__anext__())
    await asyncio.sleep(0.05)
    await pipeline.handle_customer_text(client.app, source="archive", external_userid=EUID,
                                        text=text, userid="alice")  # fmt: skip
    event: dict[str, Any] = json.loads(await asyncio.wait_for(first, 5))
    await subscription.aclose()
    return event


async def _card(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = await (await client.get(f"/sidebar/api/customers/{EUID}")).json()
    return data["customer"]


async def test_removing_the_rule_tag_removes_its_caution_and_special_care(
    client: Client, fake: FakeWeCom, sidebar_team: None,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    headers = {"X-CSRF-Token": await sign_in(client, fake, "alice")}
    await _archive(client, "我怀孕了，最近脸上有点过敏")
    card = await _card(client)
    assert card["special_care"] is True
    assert PREGNANT in card["caution"]
    assert ALLERGY in card["caution"]
    url = f"/sidebar/api/customers/{EUID}/tags"
    resp = await client.post(url, json={"remove": ["孕期"]}, headers=headers)
    assert (await resp.json())["removed"] == ["孕期"]
    card = await _card(client)
    assert PREGNANT not in card["caution"]
    assert ALLERGY in card["caution"]  # still carried by 过敏体质
    assert card["special_care"] is True
    await client.post(url, json={"remove": ["过敏体质"]}, headers=headers)
    card = await _card(client)
    assert (card["caution"], card["special_care"]) == ("", False)
    async with sessionmaker() as session:
        row = await session.get(Customer, EUID)
        assert row is not None
        assert not row.special_care


async def test_command_untag_releases_the_caution_too(
    client: Client, fake: FakeWeCom, sidebar_team: None
) -> None:
    await sign_in(client, fake, "alice")
    await _archive(client, "我在备孕")
    assert "已去掉" in await say(fake, "alice", "/untag 张三 孕期")
    card = await _card(client)
    assert (card["caution"], card["special_care"]) == ("", False)


async def test_reload_shows_the_rule_hits_the_live_event_showed(
    client: Client, fake: FakeWeCom, sidebar_team: None
) -> None:
    await sign_in(client, fake, "alice")
    event = await _archive(client, "我怀孕了")
    latest = await (await client.get(f"/sidebar/api/customers/{EUID}/latest")).json()
    assert latest["message"]["rule_hits"] == event["rule_hits"]
    (hit,) = event["rule_hits"]
    assert hit["tags"] == ["孕期"]
