"""Deeply nested JSON is bad input: a clear 400 (sidebar) or a line error (ingest), never a 500.

Python's json module raises RecursionError, not ValueError, for nesting a few thousand deep; the
sidebar's JSON reader and the ingest line parser only caught ValueError.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Message, Note
from bot.sandbox.fake import FakeWeCom
from tests.conftest import INGEST_TOKEN
from tests.sidebar.conftest import Client, sign_in

ALICE_C = "wmalice000001"
DEEP = b"[" * 50_000
DEEP_OBJECT = b'{"text": ' + b"[" * 50_000 + b"}"


async def test_sidebar_write_with_deep_json_is_400(
    client: Client,
    fake: FakeWeCom,
    sidebar_team: None,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    headers = {"X-CSRF-Token": await sign_in(client, fake, "alice")}
    for body in (DEEP, DEEP_OBJECT):
        resp = await client.post(
            f"/sidebar/api/customers/{ALICE_C}/notes", data=body, headers=headers
        )
        assert resp.status == 400
        answer = await resp.json()
        assert answer["error"] == "usage"
        assert "JSON" in answer["message"]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Note)) == 0


async def test_ingest_line_with_deep_json_is_a_line_error(
    client: Client, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    resp = await client.post(
        "/ingest/messages",
        data=DEEP + b"\n" + DEEP_OBJECT,
        headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
    )
    assert resp.status == 400
    report = await resp.json()
    assert [e["line"] for e in report["errors"]] == [1, 2]
    assert all("JSON" in e["error"] for e in report["errors"])
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
