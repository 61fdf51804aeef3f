"""Ids typed or put in a URL are plain ASCII numbers of sane size; anything else is a usage error.

str.isdigit() accepts "²" and other Unicode digits that int() refuses, and an id past 2**63
overflows SQLite: both used to end in a 500 / 「出错了」 and, for "/²", a failed inbox row that
was retried and parked.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import InboxItem, Staff
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say
from tests.sidebar import conftest as sidebar_conftest
from tests.sidebar.conftest import Client


@pytest.mark.parametrize("raw", ["²", "٣", "9" * 30])
async def test_sidebar_followup_id_must_be_a_small_ascii_number(
    client: Client, fake: FakeWeCom, sidebar_team: None, raw: str
) -> None:
    csrf = await sidebar_conftest.sign_in(client, fake, "alice")
    resp = await client.post(f"/sidebar/api/followups/{raw}/done", headers={"X-CSRF-Token": csrf})
    assert resp.status == 400
    assert (await resp.json())["error"] == "usage"


async def _inbox_statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(InboxItem.status)))


async def test_unicode_digit_choice_is_answered_not_crashed(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reply = await say(fake, "alice", "/²")
    assert "出错了" not in reply
    await asyncio.sleep(0.05)
    assert await _inbox_statuses(sessionmaker) == ["done"]


@pytest.mark.parametrize(
    ("userid", "text"),
    [
        ("lead1", "/resolve ² 已处理"),
        ("lead1", "/resolve 99999999999999999999999 已处理"),
        ("boss", "/role alice 主管 ²"),
    ],
)
async def test_unicode_or_huge_numbers_in_commands_are_usage_errors(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession],
    userid: str, text: str,
) -> None:  # fmt: skip
    reply = await say(fake, userid, text)
    assert "出错了" not in reply
    assert "编号" in reply or "部门" in reply
    async with sessionmaker() as session:
        alice = await session.get(Staff, "alice")
        assert alice is not None
        assert alice.role == "rep"
