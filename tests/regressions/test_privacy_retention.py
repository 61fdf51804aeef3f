"""Retention (PIPL): decrypted callbacks and delivered effects go after 30 days, message texts
after their own period (default: kept), hourly in every worker and by `python -m bot purge`.

Inbox payloads (decrypted customer messages) were kept forever.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.core import db
from bot.core.clock import ManualClock
from bot.core.keys import DB
from bot.core.settings import Settings
from bot.domain.models import InboxItem, Message
from bot.inbound import retention
from bot.outbox.model import DONE, PARKED, PENDING, Effect
from tests.cli import run_bot
from tests.conftest import make_settings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _seed(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    async with sessionmaker.begin() as session:
        for key, status, days in (("old-done", "done", 31), ("new-done", "done", 29),
                                  ("old-parked", "parked", 90), ("old-pending", "pending", 90)):
            session.add(InboxItem(dedup_key=key, payload="<xml>我过敏了</xml>", status=status,
                                  processed_at=now - timedelta(days=days)))  # fmt: skip
        for key, status, days in (("e-old", DONE, 31), ("e-new", DONE, 1),
                                  ("e-parked", PARKED, 90), ("e-pending", PENDING, 90)):
            session.add(Effect(kind="message", key=key, payload={"text": "张三 过敏"},
                               status=status, done_at=now - timedelta(days=days)))  # fmt: skip
        session.add(Message(source="kf", external_userid="wm1", text="我的电话13800001234",
                            created_at=now - timedelta(days=100)))  # fmt: skip
        session.add(Message(source="kf", external_userid="wm1", text="昨天的问题",
                            created_at=now - timedelta(days=1)))  # fmt: skip


async def _left(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[Any, ...]:
    async with sessionmaker() as session:
        inbox = sorted(await session.scalars(select(InboxItem.dedup_key)))
        effects = sorted(k for k in await session.scalars(select(Effect.key)) if k)
        texts = list(await session.scalars(select(Message.text).order_by(Message.id)))
    return inbox, effects, texts


async def test_purge_keeps_what_the_periods_say(db_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    sessionmaker = db.create_sessionmaker(engine)
    await _seed(sessionmaker, NOW)
    default = Settings(sandbox=True)  # 30 days for plumbing, message texts kept
    purged = await retention.purge(sessionmaker, default, NOW)
    assert (purged.callbacks, purged.effects, purged.message_texts) == (1, 1, 0)
    inbox, effects, texts = await _left(sessionmaker)
    assert inbox == ["new-done", "old-parked", "old-pending"]
    assert effects == ["e-new", "e-parked", "e-pending"]
    assert texts == ["我的电话13800001234", "昨天的问题"]

    shorter = Settings(sandbox=True, retain_message_days=90)
    purged = await retention.purge(sessionmaker, shorter, NOW)
    assert (purged.callbacks, purged.effects, purged.message_texts) == (0, 0, 1)
    assert (await _left(sessionmaker))[2] == ["", "昨天的问题"]  # the row stays for stats
    await engine.dispose()


async def test_every_worker_purges_on_its_clock(
    db_path: Path, fake_server: TestServer, aiohttp_client: Any
) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    await _seed(db.create_sessionmaker(engine), NOW)
    await engine.dispose()
    clock = ManualClock(NOW)
    client = await aiohttp_client(create_app(make_settings(db_path, fake_server), clock=clock))
    for _ in range(200):  # the periodic task runs once at start-up
        if "old-done" not in (await _left(client.app[DB]))[0]:
            break
        await asyncio.sleep(0.01)
    assert (await _left(client.app[DB]))[0] == ["new-done", "old-parked", "old-pending"]


async def test_purge_command(db_path: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{db_path}"
    engine = db.create_engine(url)
    await _seed(db.create_sessionmaker(engine), datetime.now(UTC))
    await engine.dispose()
    proc = await asyncio.to_thread(
        run_bot, "purge", cwd=tmp_path, DATABASE_URL=url, SIDEKICK_RETAIN_MESSAGE_DAYS="90"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "已处理的回调 done callbacks: 清除 1 条 purged 1 (older than 30 days)",
        "已发送的操作 delivered effects: 清除 1 条 purged 1 (older than 30 days)",
        "消息正文 message texts: 清除 1 条 purged 1 (older than 90 days)",
    ]
