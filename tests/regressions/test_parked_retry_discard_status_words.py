"""/retry and /discard of an effect that is not parked told the admin its raw status
("当前状态是 done"); the chat shows the status in Chinese. Also: the round trip works."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox.model import DONE, PARKED, Effect
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def test_retry_and_discard_speak_chinese(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker.begin() as session:
        done = Effect(kind="message", payload={"touser": "alice", "text": "hi"}, status=DONE)
        parked = Effect(kind="message", payload={"touser": "alice", "text": "hi"}, status=PARKED,
                        last_errcode=81013)  # fmt: skip
        session.add_all([done, parked])
    reply = await say(fake, "boss", f"/discard {done.id}")
    assert "当前状态是「已完成」" in reply
    assert "done" not in reply
    assert f"#{parked.id}" in await say(fake, "boss", "/parked")
    assert "已放弃，不会再发送" in await say(fake, "boss", f"/discard {parked.id}")
    reply = await say(fake, "boss", f"/retry {parked.id}")
    assert "当前状态是「已放弃」" in reply
