"""Reps' replies seen in the archive: outbound messages in the customer's timeline, at the
time WeCom recorded them, and the first-response time in /stats."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.models import Message
from bot.sandbox.fake import FakeWeCom
from tests.archive.conftest import Client, keyring_for, puller
from tests.helpers import say


async def test_rep_replies_become_outbound_messages_and_the_first_response_time(
    kb_client: Client, fake: FakeWeCom, tmp_path: Path
) -> None:
    fake.add_member("boss", "老板", [1])
    now = int(time.time() * 1000)
    minute = 60_000
    archive = fake.archive
    # Two questions, answered 6 minutes after the first; later a second wait of 2 minutes.
    archive.add_text("wmtimeline01", "alice", "在吗", msgid="q1", msgtime=now - 30 * minute)
    archive.add_text("wmtimeline01", "alice", "怎么开发票", msgid="q2",
                     msgtime=now - 28 * minute)  # fmt: skip
    archive.add_text("alice", "wmtimeline01", "您好，下单时填写抬头即可", msgid="a1",
                     msgtime=now - 24 * minute)  # fmt: skip
    archive.add_text("wmtimeline01", "alice", "好的", msgid="q3", msgtime=now - 10 * minute)
    archive.add_text("alice", "wmtimeline01", "不客气", msgid="a2", msgtime=now - 8 * minute)
    # Pulled all at once, long after: the times are WeCom's, not the pull's.
    await puller(kb_client.app, fake, keyring_for(tmp_path, [1])).step()

    async with kb_client.app[DB]() as session:
        rows = list(await session.scalars(
            select(Message).where(Message.external_userid == "wmtimeline01")
            .order_by(Message.created_at)))  # fmt: skip
    assert [(m.source_msgid, m.direction) for m in rows] == [
        ("q1", "in"), ("q2", "in"), ("a1", "out"), ("q3", "in"), ("a2", "out")]
    assert rows[2].userid == "alice"
    assert rows[2].text == "您好，下单时填写抬头即可"
    assert not rows[2].suggestions  # a rep's words feed no suggestions or rules
    assert int(rows[0].created_at.timestamp() * 1000) == now - 30 * minute

    reply = await say(fake, "boss", "/stats 近7天")
    assert "首次响应：中位 2 分钟\u3000P90 6 分钟（2 次）" in reply
