"""Durable reminders: fired once across two workers on one database, caught up after downtime."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import create_app
from bot.core import db
from bot.core.keys import DB
from bot.domain.models import Customer, Escalation, FollowRelation, Followup, Staff
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from handlers import reminders as scheduler
from tests.conftest import make_settings
from tests.helpers import settle

Clients = Callable[..., Any]


async def _seed(db_path: Path, *rows_after_customers: object) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    async with db.create_sessionmaker(engine).begin() as session:
        session.add_all(
            [
                Staff(userid="alice", departments=[1], role="rep"),
                Staff(userid="lead1", departments=[1], role="supervisor"),
            ]
        )
        session.add(Customer(external_userid="c1", name="张三"))
        await session.flush()
        session.add(FollowRelation(userid="alice", external_userid="c1"))
        await session.flush()
        session.add_all(list(rows_after_customers))
    await engine.dispose()


def _app(db_path: Path, fake_server: TestServer) -> web.Application:
    settings = make_settings(
        db_path, fake_server, public_url="https://sk.example.com", scheduler_interval=3600.0
    )
    return create_app(settings)


async def _settle(fake: FakeWeCom, path: str, want: int) -> None:
    """Wait (at most 5 s) until `want` calls reached `path`, then a little longer for extras."""
    for _ in range(250):
        if len(fake.calls_to(path)) >= want:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)


async def test_two_workers_remind_once(
    db_path: Path, fake: FakeWeCom, fake_server: TestServer, aiohttp_client: Clients
) -> None:
    due = db.utcnow() - timedelta(minutes=1)
    await _seed(
        db_path,
        Followup(external_userid="c1", userid="alice", note="回电", due_at=due),
        Escalation(external_userid="c1", userid="alice", reason="规则：投诉", source="rule"),
    )
    app1, app2 = _app(db_path, fake_server), _app(db_path, fake_server)
    c1: TestClient[web.Request, web.Application] = await aiohttp_client(app1)
    c2: TestClient[web.Request, web.Application] = await aiohttp_client(app2)
    # Both start-up ticks race; then both workers tick again at the same moment.
    await asyncio.gather(scheduler.tick(c1.app), scheduler.tick(c2.app))
    await _settle(fake, "message/send", 2)
    sends = fake.calls_to("message/send")
    cards = [c for c in sends if c["json"]["msgtype"] == "textcard"]
    texts = [c for c in sends if c["json"]["msgtype"] == "text"]
    assert len(cards) == 1
    assert cards[0]["json"]["touser"] == "alice"
    card = cards[0]["json"]["textcard"]
    assert card["url"] == "https://sk.example.com/sidebar/?customer=c1"
    assert "回电" in card["description"]
    assert len(texts) == 1
    assert texts[0]["json"]["touser"] == "lead1"
    assert "规则：投诉" in texts[0]["json"]["text"]["content"]


async def test_catch_up_after_downtime(
    db_path: Path, fake: FakeWeCom, fake_server: TestServer, aiohttp_client: Clients
) -> None:
    now = db.utcnow()
    hours = lambda n: now + timedelta(hours=n)  # noqa: E731 - keeps the table readable
    rows = [
        ("三天前", hours(-72), None, None),
        ("一小时前", hours(-1), None, None),
        ("明天", hours(24), None, None),
        ("已完成", hours(-1), hours(-2), None),
        ("已提醒", hours(-5), None, hours(-5)),
        ("无时间", None, None, None),
    ]
    await _seed(
        db_path,
        *[
            Followup(external_userid="c1", userid="alice", note=note, due_at=due, done_at=done,
                     reminded_at=reminded)
            for note, due, done, reminded in rows
        ],
    )  # fmt: skip
    client: TestClient[web.Request, web.Application] = await aiohttp_client(
        _app(db_path, fake_server)
    )
    await _settle(fake, "message/send", 2)
    notes = sorted(c["json"]["textcard"]["description"] for c in fake.calls_to("message/send"))
    assert len(notes) == 2
    assert "一小时前" in notes[0] or "一小时前" in notes[1]
    assert any("三天前" in n for n in notes)
    # Ticking again sends nothing new; the future one goes out once it falls due.
    assert await scheduler.tick(client.app) == (0, 0)
    assert await scheduler.tick(client.app, now + timedelta(days=1, minutes=1)) == (1, 0)
    assert await scheduler.tick(client.app, now + timedelta(days=2)) == (0, 0)
    assert len(fake.calls_to("message/send")) == 3


async def test_permanent_failure_is_not_retried(
    db_path: Path, fake: FakeWeCom, fake_server: TestServer, aiohttp_client: Clients
) -> None:
    await _seed(db_path)
    client: TestClient[web.Request, web.Application] = await aiohttp_client(
        _app(db_path, fake_server)
    )
    async with client.app[DB].begin() as session:
        session.add(Followup(external_userid="c1", userid="alice", note="x",
                             due_at=db.utcnow() - timedelta(seconds=1)))  # fmt: skip
    fake.fail_next("message/send", 81013)  # user not in the app's visible range
    assert await scheduler.tick(client.app) == (1, 0)
    await settle(client.app)
    assert await scheduler.tick(client.app) == (0, 0)
    await settle(client.app)
    assert len(fake.calls_to("message/send")) == 1
    async with client.app[DB]() as session:
        (effect,) = await session.scalars(select(Effect))
    assert (effect.status, effect.last_errcode) == ("parked", 81013)  # for an admin to see
