"""A sweep runs a crash's leftover add event before older replays, even one that fell due
while the sweep was running: its WelcomeCode lives 20 s, the other rows have no such clock.

The sweeper ran its due rows oldest first from one list taken at its start, so after a
worker was killed mid-burst an add event waited behind a backlog of replays and missed its
welcome (CI: 63 s after the kill, the code long expired).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core.db import utcnow
from bot.core.keys import DB, ROUTER
from bot.domain.models import InboxItem
from bot.inbound import dispatch, inbox
from bot.inbound.router import EventContext, Reply
from bot.sandbox.fake import FakeWeCom
from tests.conftest import make_settings
from tests.helpers import click_xml

ADD = "event/change_external_contact/add_external_contact"


def _row(key: str, kind: str, payload: bytes, **state: Any) -> InboxItem:
    return InboxItem(dedup_key=key, kind=kind, payload=payload.decode(), attempts=1, **state)


async def test_due_ids_put_add_events_first(db_path: Path, fake: FakeWeCom) -> None:
    from bot.core import db

    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    sm = db.create_sessionmaker(engine)
    now = utcnow()
    try:
        async with sm.begin() as session:
            session.add(_row("a", "event/click", click_xml("u1"), status="pending",
                             next_attempt_at=now - timedelta(seconds=5)))  # fmt: skip
            session.add(_row("b", ADD, fake.xml_add_external_contact("r1", "wm1", "", "C1"),
                             status="processing", claimed_by="dead",
                             claimed_at=now - timedelta(seconds=60)))  # fmt: skip
            session.add(_row("c", "event/click", click_xml("u2"), status="pending",
                             next_attempt_at=now - timedelta(seconds=5)))  # fmt: skip
        assert await inbox.due_ids(sm, now=now, lease=30) == [2, 1, 3]
    finally:
        await engine.dispose()


async def test_an_add_event_due_mid_sweep_goes_next(
    db_path: Path, fake: FakeWeCom, fake_server: TestServer, aiohttp_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    app = create_app(make_settings(db_path, fake_server, inbox_lease=30))
    client = await aiohttp_client(app)
    ran: list[str] = []

    async def record(ctx: EventContext) -> Reply | None:
        ran.append(ctx.event.kind if ctx.event.event != "click" else ctx.event.from_user)
        if len(ran) == 1:  # meanwhile another worker dies holding an add event
            async with client.app[DB].begin() as session:
                session.add(_row("add", ADD, fake.xml_add_external_contact("r1", "wm1", "", "C1"),
                                 status="processing", claimed_by="dead",
                                 claimed_at=utcnow() - timedelta(seconds=60)))  # fmt: skip
        async with ctx.transaction():
            pass
        return None

    monkeypatch.setattr(client.app[ROUTER], "resolve", lambda event: record)
    async with client.app[DB].begin() as session:
        for user in ("u1", "u2"):
            session.add(_row(f"ev:{user}", "event/click", click_xml(user), status="pending",
                             next_attempt_at=utcnow() - timedelta(seconds=1)))  # fmt: skip
    assert await dispatch.sweep(client.app) == 3
    assert ran == ["u1", ADD, "u2"]
