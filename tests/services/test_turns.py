"""Customer turns kept as messages are recorded (bot/domain/turns.py), in any arrival order, on
SQLite and PostgreSQL; the migration's backfill gives the same turns from the same messages."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import db, migrate
from bot.domain import pipeline, turns
from bot.domain.models import Customer, Message
from bot.domain.turn_models import CustomerTurn

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
TURNS_REVISION = "fa678bd88dab"
Sm = async_sessionmaker[AsyncSession]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """A migrated database of each backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{db_path}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def sm(url: str) -> AsyncIterator[Sm]:
    engine = db.create_engine(url)
    yield db.create_sessionmaker(engine)
    await engine.dispose()


# How store() hands messages to the upkeep: as the archive's batches do (before_batch, then
# record with what it read), or one by one as kf does. Every test runs both ways.
BATCH = {"on": True}


@pytest.fixture(params=["batch", "one by one"], autouse=True)
def _mode(request: pytest.FixtureRequest) -> None:
    BATCH["on"] = request.param == "batch"


async def store(sm: Sm, euid: str, *messages: tuple[str, float], source: str = "archive") -> None:
    """Store (direction, minute) messages in one transaction and apply them."""
    await store_rows(sm, [(euid, d, m, source) for d, m in messages])


async def store_rows(
    sm: Sm, messages: list[tuple[str, str, float, str]], *, batch: bool | None = None
) -> None:
    """Store (customer, direction, minute, source) messages in one transaction and apply them."""
    batch = BATCH["on"] if batch is None else batch
    async with sm.begin() as session:
        euids = sorted({m[0] for m in messages})
        for euid in euids:
            if await session.get(Customer, euid) is None:
                session.add(Customer(external_userid=euid))
        await session.flush()
        known = await turns.before_batch(session, euids) if batch else None
        rows = [Message(source=src, direction=d, external_userid=e, text="x",
                        created_at=T0 + timedelta(minutes=m))
                for e, d, m, src in messages]  # fmt: skip
        session.add_all(rows)
        await session.flush()
        if batch:
            await turns.record(session, turns.events_of(rows), known)
        else:
            for row in rows:
                await turns.record(session, turns.events_of([row]))


def _minute(at: datetime | None) -> float | None:
    return None if at is None else (at - T0).total_seconds() / 60


async def turns_of(sm: Sm, euid: str) -> list[tuple[float | None, float | None, float | None]]:
    """(asked minute, replied minute, wait minutes) of the customer's turns, in time order."""
    async with sm() as session:
        rows = await session.scalars(select(CustomerTurn).where(
            CustomerTurn.external_userid == euid).order_by(CustomerTurn.asked_at))  # fmt: skip
        return [(_minute(t.asked_at), _minute(t.replied_at),
                 None if t.wait is None else round(t.wait / 60, 3)) for t in rows]  # fmt: skip


async def test_in_out_in_out_makes_two_turns(sm: Sm) -> None:
    for message in (("in", 0), ("out", 3), ("in", 10), ("out", 11)):
        await store(sm, "wm1", message)
    assert await turns_of(sm, "wm1") == [(0, 3, 3), (10, 11, 1)]


async def test_two_customer_messages_before_a_reply_are_one_wait(sm: Sm) -> None:
    await store(sm, "wm1", ("in", 0))
    await store(sm, "wm1", ("in", 2))
    assert await turns_of(sm, "wm1") == [(0, None, None)]
    # A customer message at the reply's instant counts as sent before it: the same wait.
    await store(sm, "wm1", ("out", 5), ("in", 5), ("out", 6))
    assert await turns_of(sm, "wm1") == [(0, 5, 5)]


async def test_a_reply_with_no_open_turn_changes_nothing(sm: Sm) -> None:
    await store(sm, "wm1", ("out", 0))
    assert await turns_of(sm, "wm1") == []
    await store(sm, "wm1", ("in", 1), ("out", 2))
    await store(sm, "wm1", ("out", 4))
    assert await turns_of(sm, "wm1") == [(1, 2, 1)]
    # A customer message stored after a reply of the same instant still came before it.
    await store(sm, "wm2", ("out", 0))
    await store(sm, "wm2", ("in", 0))
    await store(sm, "wm2", ("in", 0), ("out", 1), ("in", 1))
    assert await turns_of(sm, "wm2") == [(0, 0, 0), (1, 1, 0)]


async def test_an_archive_reply_pulled_late_never_closes_a_later_turn(sm: Sm) -> None:
    await store(sm, "wm1", ("in", 0), source="kf")
    await store(sm, "wm1", ("out", 8), source="kf")
    await store(sm, "wm1", ("in", 10), source="kf")
    await store(sm, "wm1", ("out", 5))  # the rep's reply, pulled from the archive now
    # It answered the first turn earlier than the bot did; the open turn stays open.
    assert await turns_of(sm, "wm1") == [(0, 5, 5), (10, None, None)]


async def test_a_late_reply_splits_the_wait_it_falls_in(sm: Sm) -> None:
    await store(sm, "wm1", ("in", 0), ("in", 4), ("out", 10))
    await store(sm, "wm1", ("out", 2))
    assert await turns_of(sm, "wm1") == [(0, 2, 2), (4, 10, 6)]
    await store(sm, "wm2", ("in", 0), ("in", 4))
    await store(sm, "wm2", ("out", 2))
    assert await turns_of(sm, "wm2") == [(0, 2, 2), (4, None, None)]


async def test_a_late_customer_message_starts_its_wait_where_it_was_sent(sm: Sm) -> None:
    # Before an open turn, with no reply between: the wait began at the late message.
    await store(sm, "wm1", ("in", 10))
    await store(sm, "wm1", ("in", 5))
    assert await turns_of(sm, "wm1") == [(5, None, None)]
    # Between two turns, with a recorded reply after it: a turn of its own.
    await store(sm, "wm2", ("in", 0), ("out", 2), ("out", 7), ("in", 10), ("out", 12))
    await store(sm, "wm2", ("in", 5))
    assert await turns_of(sm, "wm2") == [(0, 2, 2), (5, 7, 2), (10, 12, 2)]
    # Inside an answered wait: nothing changes.
    await store(sm, "wm2", ("in", 1))
    assert await turns_of(sm, "wm2") == [(0, 2, 2), (5, 7, 2), (10, 12, 2)]


async def test_sidebar_look_ups_are_not_customer_turns(sm: Sm) -> None:
    await store(sm, "wm1", ("in", 0), source="sidebar")
    assert await turns_of(sm, "wm1") == []


async def test_two_workers_open_a_customers_turn_once(sm: Sm, url: str) -> None:
    async with sm.begin() as session:
        session.add(Customer(external_userid="wm1"))

    async def worker(minute: float) -> None:
        async with sm.begin() as session:
            row = Message(source="kf", direction="in", external_userid="wm1", text="x",
                          created_at=T0 + timedelta(minutes=minute))  # fmt: skip
            session.add(row)
            await session.flush()
            await turns.record(session, turns.events_of([row]))
            await asyncio.sleep(0.2)  # hold the transaction while the other worker runs

    if url.startswith("sqlite"):  # one writer at a time: the second waits for the file lock
        await worker(1)
        await worker(2)
    else:
        await asyncio.gather(worker(1), worker(2))
    assert await turns_of(sm, "wm1") == [(1, None, None)]


async def test_a_persons_reply_read_by_two_workers_at_once_is_stored_once(
    sm: Sm, url: str
) -> None:
    """kf sync's lock can expire under a slow page: two workers then both read the same person's
    reply. The second one's insert met the first's row and raised instead of counting it."""
    async with sm.begin() as session:
        session.add(Customer(external_userid="wm1"))

    async def worker() -> bool:
        async with sm.begin() as session:
            stored = await pipeline.record_servicer_reply(
                session, external_userid="wm1", userid="svc1", text="在的", open_kfid="wk1",
                source_msgid="msgSVC", sent_at=T0,
            )  # fmt: skip
            await asyncio.sleep(0.2)  # hold the transaction while the other worker runs
            return stored

    if url.startswith("sqlite"):  # one writer at a time: the second sees the first's row
        results = [await worker(), await worker()]
    else:
        results = list(await asyncio.gather(worker(), worker()))
    assert sorted(results) == [False, True]
    async with sm() as session:
        rows = (await session.scalars(select(Message).where(Message.source_msgid == "msgSVC")))
        assert len(rows.all()) == 1


def _history(rnd: random.Random) -> list[tuple[str, str, float, str]]:
    """A corp's worth of (customer, direction, minute, source) with ties and long gaps."""
    out = []
    for c in range(25):
        minute = 0.0
        source = "kf" if c % 3 == 0 else "archive"
        for _ in range(rnd.randint(0, 14)):
            minute += rnd.choice([0, 0.5, 1, 7, 60])
            out.append((f"wm{c:02d}", rnd.choice(["in", "in", "out"]), minute, source))
        if c % 5 == 0:
            out.append((f"wm{c:02d}", "in", minute + 1, "sidebar"))
    return out


async def _all_turns(sm: Sm) -> list[tuple[str, datetime, datetime | None, float | None, str]]:
    async with sm() as session:
        rows = await session.scalars(select(CustomerTurn))
        return sorted((t.external_userid, t.asked_at, t.replied_at,
                       None if t.wait is None else round(t.wait, 2), t.source)
                      for t in rows)  # fmt: skip


@pytest.mark.parametrize("shuffled", [True, False])
async def test_the_migrations_backfill_equals_incremental_recording(
    sm: Sm, url: str, shuffled: bool
) -> None:
    rnd = random.Random(7)
    history = _history(rnd)
    arrival = sorted(history, key=lambda h: h[2])  # in time order, ties in any order
    if shuffled:
        rnd.shuffle(arrival)  # archive pages late, kf live: any order, in batches of any size
    while arrival:
        size = rnd.randint(1, 6)
        await store_rows(sm, arrival[:size])
        arrival = arrival[size:]
    incremental = await _all_turns(sm)
    assert len(incremental) > 20

    config = migrate.alembic_config(url)
    await asyncio.to_thread(command.downgrade, config, migrate.previous(TURNS_REVISION))
    await asyncio.to_thread(migrate.upgrade, url)  # creates the table and backfills it
    assert await _all_turns(sm) == incremental
