"""A NUL character in a text field is bad input: a clear 400, never a 500.

PostgreSQL's text type cannot hold U+0000 (asyncpg raises CharacterNotInRepertoireError), so a
sidebar note, follow-up or escalation reason carrying one was a 500 on PostgreSQL while SQLite
stored it; the customer-facing and ingest paths had the same hole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.core.keys import DB
from bot.core.settings import Settings
from bot.domain.models import Escalation, Followup, InboxItem, Message, Note
from bot.sandbox.fake import FakeWeCom
from tests import helpers
from tests.conftest import INGEST_TOKEN, make_settings
from tests.flows.conftest import deliver
from tests.sidebar.conftest import Client, sign_in

ALICE_C = "wmalice000001"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, db_path: Path, fake_server: TestServer) -> Settings:
    """The app on SQLite and on PostgreSQL."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        return make_settings(db_path, fake_server, database_url=url)
    return make_settings(db_path, fake_server)


async def test_sidebar_text_with_nul_is_400(
    client: Client,
    fake: FakeWeCom,
    sidebar_team: None,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    headers = {"X-CSRF-Token": await sign_in(client, fake, "alice")}
    writes = [
        ("notes", {"text": "a\x00b"}),
        ("followups", {"note": "回访\x00", "due_at": "明天10点"}),
        ("escalations", {"reason": "\x00"}),
        ("tags", {"add": ["VIP\x00"]}),
    ]
    for path, body in writes:
        resp = await client.post(
            f"/sidebar/api/customers/{ALICE_C}/{path}", json=body, headers=headers
        )
        assert resp.status == 400, (path, await resp.text())
        answer = await resp.json()
        assert answer["error"] == "usage"
    async with sessionmaker() as session:
        for model in (Note, Followup, Escalation):
            assert await session.scalar(select(func.count()).select_from(model)) == 0


async def test_ingest_line_with_nul_is_kept_without_it_or_refused(
    client: Client, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A NUL in the message text is dropped (the rest is kept); in an id, the line is refused."""
    text_line = (
        b'{"msgid": "m1", "from": "wmalice000001", "tolist": ["alice"], "msgtime": 1700000000000,'
        b' "msgtype": "text", "text": {"content": "hi\\u0000"}}'
    )
    id_line = text_line.replace(b'"m1"', b'"m2"').replace(b'"wmalice000001"', b'"wm\\u0000x"')
    resp = await client.post(
        "/ingest/messages",
        data=text_line + b"\n" + id_line,
        headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
    )
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert report["accepted"] == 1
    assert [e["line"] for e in report["errors"]] == [2]
    async with sessionmaker() as session:
        stored = list(await session.scalars(select(Message.text)))
    assert stored == ["hi"]


async def test_kf_text_with_nul_is_stored_without_it(
    settings: Settings,
    fake: FakeWeCom,
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    """A customer's 微信客服 text carrying U+0000 is answered and stored without it."""
    app = create_app(settings)
    test_client = await aiohttp_client(app)
    fake.callback_url = str(test_client.make_url("/wecom/callback"))
    helpers.APPS[id(fake)] = app
    try:
        fake.queue_kf_text("wkKF001", "wmNUL001", "几天能\x00发货")
        await deliver(fake, fake.xml_kf_event("wkKF001"))
        async with app[DB]() as session:
            stored = list(await session.scalars(select(Message.text).order_by(Message.id)))
            inbox = list(await session.scalars(select(InboxItem.status)))
    finally:
        helpers.APPS.pop(id(fake), None)
    assert stored[0] == "几天能发货"
    assert inbox == ["done"]
