"""Redis down: callbacks are still stored and handled (the inbox key is the real de-dup).

The de-duplication fast path's cache errors propagated, so every callback got a 500 while
Redis was unreachable and WeCom's retries ran out: events were lost although the database,
the source of truth, was fine.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.core.keys import CACHE, DB
from bot.domain.models import InboxItem
from bot.sandbox.fake import FakeWeCom
from tests.helpers import reply_text


async def _unreachable(*_: object) -> Any:
    raise ConnectionError("redis unreachable")


async def test_callbacks_survive_a_cache_outage(
    client: Any, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = client.app[CACHE]  # the de-dup calls fail as a lost Redis would
    monkeypatch.setattr(cache, "exists", _unreachable)
    monkeypatch.setattr(cache, "set", _unreachable)
    xml = fake.xml_app_text("zhangsan", "你好")
    first = await fake.post_callback(fake.callback_url or "", xml)
    again = await fake.post_callback(fake.callback_url or "", xml)
    assert first[0] == 200
    assert reply_text(first[1])
    assert again[0] == 200
    assert reply_text(again[1]) == ""  # the inbox key still de-duplicates
    async with client.app[DB]() as session:
        rows = list((await session.execute(select(InboxItem))).scalars())
    assert [row.status for row in rows] == ["done"]
