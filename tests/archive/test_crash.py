"""kill -9 in the middle of a batch, then a restart: every customer message processed once."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import db
from bot.domain.archive_models import ArchiveCursor
from bot.domain.models import CustomerTag, Message
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from knowledge import store
from tests import processes
from tests.flows.conftest import TEST_KB

RECORDS = 300
BATCH = 50


@pytest.fixture
async def database(db_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The test's view of the database the puller process writes (with TEST_KB stored)."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    sessionmaker = db.create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        await store.replace_kb(session, TEST_KB)
    yield sessionmaker
    await engine.dispose()


async def _start(
    fake_server: TestServer, db_path: Path, **extra: str
) -> asyncio.subprocess.Process:
    env = processes.production_env(
        str(fake_server.make_url("")).rstrip("/"), f"sqlite+aiosqlite:///{db_path}",
        # Sandbox mode with WECOM_API_BASE set: the fake archive of that fake WeCom.
        SIDEKICK_SANDBOX="1", SIDEKICK_ARCHIVE_BATCH=str(BATCH), SIDEKICK_ARCHIVE_POLL="0.2",
        # The restarted puller waits out the killed one's lease: keep it short here.
        SIDEKICK_ARCHIVE_LEASE="3", **extra,
    )  # fmt: skip
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "archive", env=env, cwd=str(processes.ROOT),
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _seq(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(ArchiveCursor.seq)) or 0)


async def _until(what: str, check: object, within: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_kill_mid_batch_then_restart_processes_each_message_once(
    fake: FakeWeCom, fake_server: TestServer, db_path: Path,
    database: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    customers: dict[str, str] = {}
    for n in range(RECORDS):
        euid = f"wmcrash{n % 30:04d}"
        if n % 3 == 2:
            fake.archive.add_text("alice", euid, "收到，马上帮您处理", msgid=f"c{n}")
        else:
            text = "我用了脸上红肿过敏" if n % 30 == 7 else f"第{n}个问题：什么时候发货"
            customers[f"c{n}"] = fake.archive.add_text(euid, "alice", text, msgid=f"c{n}")
    allergic = {f"wmcrash{7:04d}"}

    proc = await _start(fake_server, db_path, SIDEKICK_FAULT="archive_slow_batch")
    try:
        await _until("the first batch", lambda: _first_batch(database))
        await _until("the next batch in flight", _pulled_more(fake, database))
        await asyncio.sleep(0.3)  # inside the batch's transaction (20 ms a record)
    finally:
        await processes.kill(proc)
    committed = await _seq(database)
    assert 0 < committed < RECORDS
    assert fake.archive.pulls > committed // BATCH  # a batch was read and not committed
    async with database() as session:
        stored = set(await session.scalars(select(Message.source_msgid)))
    assert stored == {f"c{n}" for n in range(committed)}  # all of each batch, or none

    proc = await _start(fake_server, db_path)
    try:
        await _until("the restarted puller to catch up",
                     lambda: _caught_up(database))  # fmt: skip
    finally:
        await processes.stop(proc)
    async with database() as session:
        inbound = list(await session.scalars(
            select(Message.source_msgid).where(Message.direction == "in")))  # fmt: skip
        outbound = await session.scalar(
            select(func.count(Message.id)).where(Message.direction == "out"))  # fmt: skip
        tagged = set(await session.scalars(select(CustomerTag.external_userid)))
        marks = await session.scalar(
            select(func.count(Effect.id)).where(Effect.kind == "mark_tag"))  # fmt: skip
    assert sorted(inbound) == sorted(customers)  # every customer message, exactly once
    assert outbound == RECORDS - len(customers)
    assert tagged == allergic
    assert marks == 1


async def _first_batch(database: async_sessionmaker[AsyncSession]) -> bool:
    return await _seq(database) >= BATCH


def _pulled_more(fake: FakeWeCom, database: async_sessionmaker[AsyncSession]) -> object:
    async def check() -> bool:
        return fake.archive.pulls > await _seq(database) // BATCH

    return check


async def _caught_up(database: async_sessionmaker[AsyncSession]) -> bool:
    return await _seq(database) == RECORDS
