"""No code path calls WeCom inside a database transaction: the transport refuses, loudly."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.core.keys import DB, WECOM
from bot.wecom.transport import TransactionalCallError

Client = TestClient  # type: ignore[type-arg]


async def test_a_call_inside_a_write_transaction_is_refused(client: Client) -> None:
    app = client.app
    async with app[DB].begin() as session:
        await session.execute(text("SELECT 1"))
        with pytest.raises(TransactionalCallError, match="user/get"):
            await app[WECOM].get_user("alice")


async def test_a_read_session_holding_its_connection_counts_too(client: Client) -> None:
    app = client.app
    async with app[DB]() as session:
        await session.execute(text("SELECT 1"))  # autobegun: the connection is held
        with pytest.raises(TransactionalCallError):
            await app[WECOM].send_text("alice", "hi")


async def test_after_the_transaction_the_call_goes_through(client: Client) -> None:
    app = client.app
    async with app[DB].begin() as session:
        await session.execute(text("SELECT 1"))
    await app[WECOM].send_text("alice", "hi")  # no exception: no transaction is open


async def test_a_task_started_inside_a_transaction_is_free_once_it_ends(client: Client) -> None:
    app = client.app
    release = asyncio.Event()

    async def later() -> None:
        await release.wait()
        await app[WECOM].send_text("alice", "after commit")

    async with app[DB].begin() as session:
        await session.execute(text("SELECT 1"))
        task = asyncio.create_task(later())  # copies this task's context
    release.set()
    await task  # the parent's session has ended: the child may call WeCom
