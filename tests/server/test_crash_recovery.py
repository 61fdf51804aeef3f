"""A server killed between the inbox commit and processing loses nothing (real processes)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core import db
from bot.domain.models import InboxItem
from bot.sandbox.fake import FakeWeCom
from handlers.commands.chat import HINT
from tests import conftest, processes
from tests.helpers import message_content, sent_to


async def _rows(db_path: Path) -> list[InboxItem]:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    async with db.create_sessionmaker(engine)() as session:
        rows = list((await session.execute(select(InboxItem))).scalars())
    await engine.dispose()
    return rows


async def test_killed_after_inbox_commit_processes_exactly_once_after_restart(
    db_path: Path, fake_server: TestServer, fake: FakeWeCom
) -> None:
    port = processes.free_port()
    env = {
        **os.environ,
        "WECOM_CORP_ID": conftest.CORP_ID,
        "WECOM_AGENT_ID": str(conftest.AGENT_ID),
        "WECOM_SECRET": conftest.SECRET,
        "WECOM_TOKEN": conftest.TOKEN,
        "WECOM_AES_KEY": conftest.AES_KEY,
        "WECOM_API_BASE": str(fake_server.make_url("")).rstrip("/"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "SIDEKICK_SESSION_SECRET": conftest.SESSION_SECRET,
        "SIDEKICK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SIDEKICK_INBOX_LEASE": "0.3",
        "SIDEKICK_INBOX_SWEEP": "0.2",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    env.pop("SIDEKICK_SANDBOX", None)
    url = f"http://127.0.0.1:{port}/wecom/callback"
    xml = fake.xml_app_text("zhaoliu", "你好")

    doomed = await processes.start({**env, "SIDEKICK_FAULT": "kill_after_inbox_commit"}, port)
    try:
        await fake.post_callback(url, xml)
        raise AssertionError("the server should have died before answering")
    except aiohttp.ClientError:
        pass
    assert await doomed.wait() == -signal.SIGKILL
    (row,) = await _rows(db_path)
    assert row.status == "processing"  # committed, never processed
    assert sent_to(fake, "zhaoliu") == []

    server = await processes.start(env, port)
    try:
        for _ in range(200):
            if sent_to(fake, "zhaoliu"):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # a few more sweeps: nothing more may happen
        assert [message_content(c) for c in sent_to(fake, "zhaoliu")] == [HINT]
        (row,) = await _rows(db_path)
        assert (row.status, row.attempts) == ("done", 2)

        status, body = await fake.post_callback(url, xml)  # WeCom's late retry
        assert (status, body) == (200, b"")
        await asyncio.sleep(0.3)
        assert len(sent_to(fake, "zhaoliu")) == 1
    finally:
        server.terminate()
        await server.wait()
