"""The migration that adds the claimed 企业群发 read-back leaves no waiting step unread: steps in
status `mass`, and task steps whose 企业群发 effect is in the outbox (never read before it),
are due for a read at once; other steps are not. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import select

from bot.core import migrate
from bot.core.db import create_engine, create_sessionmaker
from bot.domain.lifecycle_models import SopRule, SopRun
from bot.domain.models import Customer
from bot.outbox.model import Effect

REVISION = "2ccdc74bfc32"
DUE = datetime(2026, 11, 1, 9, tzinfo=UTC)




async def _check(url: str) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            session.add(Customer(external_userid="wmMIG", name="小美"))
            session.add(SopRule(id="r", name="规则", trigger={"kind": "added"}, steps=[]))
            await session.flush()
            runs = [SopRun(rule_id="r", external_userid="wmMIG", userid="zhangsan",
                           occurrence="o", step=n, due_at=DUE, status=status)
                    for n, status in enumerate(["mass", "task", "task", "sent", "done"])]
            session.add_all(runs)  # fmt: skip
            await session.flush()
            mass, task, plain, other, done = (r.id for r in runs)
            for run_id in (task, done):  # `done` is no task: its effect says nothing here
                session.add(Effect(kind="mass_msg", key=f"sop:{run_id}:1",
                                   group_key="sop:wmMIG", payload={}))  # fmt: skip
            session.add(Effect(kind="notify", key=f"sop:{other}:0", group_key="sop:wmMIG",
                               payload={}))  # fmt: skip
        config = migrate.alembic_config(url)
        await asyncio.to_thread(command.downgrade, config, migrate.previous(REVISION))
        await asyncio.to_thread(migrate.upgrade, url)
        async with create_sessionmaker(engine)() as session:
            found = {r.id: (r.mass_check_at, r.mass_note) for r in await session.scalars(
                select(SopRun))}  # fmt: skip
    finally:
        await engine.dispose()
    waiting = (DUE, "已提交企业群发，待员工确认")
    assert found == {mass: waiting, task: waiting, plain: (None, ""), other: (None, ""),
                     done: (None, "")}  # fmt: skip


async def test_waiting_steps_are_due_for_a_read_after_the_upgrade_on_sqlite(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    await _check(url)


async def test_waiting_steps_are_due_for_a_read_after_the_upgrade_on_postgres(
    pg_url: str,
) -> None:
    await _check(pg_url)
