"""`python -m bot parked` lists parked callbacks and parked outbox effects, or says there are
none (it used to list callbacks only)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import db
from bot.domain.models import InboxItem
from bot.outbox import model
from tests.cli import run_bot


async def test_parked_lists_callbacks_and_effects(db_path: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{db_path}"
    empty = run_bot("parked", cwd=tmp_path, DATABASE_URL=url)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == "没有搁置的回调或操作 (nothing parked)"

    engine = db.create_engine(url)
    sessionmaker: async_sessionmaker[AsyncSession] = db.create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        session.add(
            InboxItem(dedup_key="k1", kind="event/click", payload="<xml/>", status="parked",
                      attempts=5, last_error="boom")
        )  # fmt: skip
        session.add(
            model.Effect(kind="mark_tag", key="e1", payload={}, status=model.PARKED,
                         attempts=3, last_errcode=40003, last_error="invalid userid")
        )  # fmt: skip
    await engine.dispose()

    listed = run_bot("parked", cwd=tmp_path, DATABASE_URL=url)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    assert "搁置的回调 parked callbacks" in out
    assert "event/click\t5\tboom" in out
    assert "搁置的操作 parked effects" in out
    assert "mark_tag\t3\t40003\tinvalid userid" in out
    assert "python -m bot effects retry" in out
