"""A slow WeCom no longer freezes the process: effects wait in the outbox, not in transactions.

Before the outbox, commands and sidebar actions called WeCom inside their transaction; on
SQLite (one pooled connection) a 12 s WeCom hang held every other callback and /healthz.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select

from bot.core.clock import ManualClock
from bot.core.keys import CLOCK, DB
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from tests.helpers import reply_text, settle, texts_to
from tests.sidebar.conftest import Client, Login

ALICE_C = "wmalice000001"
HANG = 12.0


async def _until(condition: Callable[[], bool], within: float = 30.0) -> None:
    """Wait for a condition (not for a time): what the system did, not how fast."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


async def test_slow_wecom_does_not_hold_up_callbacks_or_health(
    client: Client, fake: FakeWeCom, login: Login, team: None
) -> None:
    app = client.app
    csrf = await login("alice")
    fake.delay("message/send", HANG)
    fake.delay("externalcontact/mark_tag", HANG)
    assert fake.callback_url

    # An escalation (its alert goes to message/send) and a sidebar tag change (mark_tag):
    # both answer (the escalation passively, so inside WeCom's reply window), and their
    # effects then hang in WeCom.
    status, body = await fake.post_callback(
        fake.callback_url, fake.xml_app_text("alice", "/escalate 张三 投诉")
    )
    assert status == 200
    assert "已升级" in reply_text(body)
    resp = await client.post(f"/sidebar/api/customers/{ALICE_C}/tags", json={"add": ["VIP"]},
                             headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert resp.status == 200
    held = ("message/send", "externalcontact/mark_tag")
    await _until(lambda: all(fake.hanging(path) for path in held))  # the sender is blocked

    async def help_callback(n: int) -> None:
        xml = fake.xml_app_text(f"rep{n}", "/help")
        status, body = await fake.post_callback(fake.callback_url, xml)
        assert status == 200
        assert "你可以使用的命令" in reply_text(body)  # passive: inside the reply window

    async def health() -> None:
        resp = await client.get("/healthz")
        assert resp.status == 200
        assert (await resp.json())["database"] == "ok"

    await asyncio.gather(*(help_callback(n) for n in range(50)), health())
    # ... all answered while WeCom still held both effects: nothing waited for it.
    assert all(fake.hanging(path) for path in held)

    fake.clear_faults()  # WeCom answers again: both effects land, once
    await settle(app)  # the hung attempts time out (-2) and wait for their retry
    clock = app[CLOCK]
    assert isinstance(clock, ManualClock)
    clock.advance(60)
    await settle(app)
    async with app[DB]() as session:
        rows = list(await session.scalars(select(Effect).order_by(Effect.id)))
    assert {(e.kind, e.status) for e in rows} == {("message", "done"), ("mark_tag", "done")}
    alerts = [t for t in texts_to(fake, "lead1") if "【客户升级" in t]
    assert len(alerts) == 1
    assert len([c for c in fake.calls_to("externalcontact/mark_tag") if c["errcode"] == 0]) == 1
