"""Rows that several workers may create at once are created idempotently, never "check, then
insert": two workers seeing a new member at the same moment both succeed (PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.core import db
from bot.core.settings import Settings
from bot.domain import staff as staff_service
from bot.domain.models import Staff

SETTINGS = Settings(sandbox=True, admins="boss")


async def test_two_workers_see_a_new_member_at_once(pg_url: str) -> None:
    engines = [db.create_engine(pg_url), db.create_engine(pg_url)]
    first, second = (db.create_sessionmaker(e) for e in engines)
    inserted = asyncio.Event()

    async def worker_a() -> str:
        async with first.begin() as session:
            row = await staff_service.get_staff(session, SETTINGS, "boss")
            inserted.set()
            await asyncio.sleep(0.3)  # B runs into A's uncommitted row meanwhile
            return row.role

    async def worker_b() -> str:
        await inserted.wait()
        async with second.begin() as session:
            row = await staff_service.get_staff(session, SETTINGS, "boss")
            return row.role

    try:
        roles = await asyncio.gather(worker_a(), worker_b())
        async with first() as session:
            count = await session.scalar(select(func.count()).select_from(Staff))
    finally:
        for engine in engines:
            await engine.dispose()
    assert roles == ["admin", "admin"]
    assert count == 1


async def test_set_role_beside_a_first_sight(pg_url: str) -> None:
    engines = [db.create_engine(pg_url), db.create_engine(pg_url)]
    first, second = (db.create_sessionmaker(e) for e in engines)
    inserted = asyncio.Event()

    async def sign_in() -> None:
        async with first.begin() as session:
            await staff_service.get_staff(session, SETTINGS, "zhangsan")
            inserted.set()
            await asyncio.sleep(0.3)

    async def promote() -> str:
        await inserted.wait()
        async with second.begin() as session:
            row = await staff_service.set_role(session, userid="zhangsan", role="supervisor")
            return row.role

    try:
        _, role = await asyncio.gather(sign_in(), promote())
        async with first() as session:
            stored = await session.get(Staff, "zhangsan")
    finally:
        for engine in engines:
            await engine.dispose()
    assert role == "supervisor"
    assert stored is not None
    assert stored.role == "supervisor"
