"""On SQLite, a savepoint that comes first in a transaction is undone with it.

Python's sqlite3 sends BEGIN only before the first write, so a SAVEPOINT before any write
opened a transaction of its own and its RELEASE committed it: a miss recorded (or a message
inserted, or a proposal created) in a transaction that then rolled back stayed in the table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.core import db
from knowledge import misses
from knowledge.misses import KBMiss


class Boom(Exception):
    pass


async def test_a_first_savepoint_rolls_back_with_its_transaction(db_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    sm = db.create_sessionmaker(engine)
    try:

        async def record_then_fail() -> None:
            async with sm.begin() as session:
                assert await misses.record(session, "发票怎么开", source="kf") is not None
                raise Boom

        with pytest.raises(Boom):
            await record_then_fail()
        async with sm.begin() as session:  # and the commit path keeps nested and outer writes
            await misses.record(session, "多久发货", source="kf")
            await misses.record(session, "多久发货", source="kf")
        async with sm() as session:
            rows = (await session.execute(select(KBMiss.question, KBMiss.count))).all()
            assert await session.scalar(select(func.count()).select_from(KBMiss)) == 1
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [("多久发货", 2)]
