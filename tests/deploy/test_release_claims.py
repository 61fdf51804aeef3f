"""A stopping worker hands back its claims: its `processing` inbox rows become due now, and
other instances' claims stay theirs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.core import db
from bot.domain.models import InboxItem
from bot.inbound import inbox


async def test_release_gives_back_only_this_instances_rows(db_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    sm = db.create_sessionmaker(engine)
    now = db.utcnow()
    try:
        async with sm.begin() as session:
            for key, status, owner in [("a", "processing", "me"), ("b", "processing", "other"),
                                       ("c", "done", "me")]:  # fmt: skip
                session.add(InboxItem(dedup_key=key, payload="<xml/>", status=status,
                                      claimed_by=owner, claimed_at=now, attempts=1))  # fmt: skip
        assert await inbox.release(sm, instance="me", now=now) == 1
        assert await inbox.due_ids(sm, now=now, lease=60) == [1]  # due at once, no lease wait
        async with sm() as session:
            rows = {r.dedup_key: (r.status, r.claimed_by) for r in await session.scalars(
                select(InboxItem))}  # fmt: skip
    finally:
        await engine.dispose()
    assert rows == {"a": ("pending", ""), "b": ("processing", "other"), "c": ("done", "me")}
