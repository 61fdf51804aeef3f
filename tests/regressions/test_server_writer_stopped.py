"""A write after the inbox writer stopped fails at once; it used to wait forever."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.core.db import create_engine, utcnow
from bot.inbound.inbox_writer import InboxWriter


async def test_a_write_after_stop_fails_fast(db_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    writer = InboxWriter(engine)
    writer.start()
    item_id = await writer.insert(
        dedup_key="msg:1", kind="text", payload="<xml/>", instance="i1", now=utcnow()
    )
    assert item_id is not None
    await writer.stop()
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(writer.done(item_id, utcnow()), 2)
    await engine.dispose()
