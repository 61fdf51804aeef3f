"""The benchmarks' database: migrate and seed it like a running corp, and read the outcome."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from corpus import TAG_GROUP, TAGS, World, followup_due
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import db, migrate
from bot.core.db import utcnow
from bot.domain import channels
from bot.domain.models import (
    Customer,
    CustomerTag,
    FollowRelation,
    Followup,
    InboxItem,
    Staff,
    Tag,
)
from bot.outbox.model import Effect
from bot.sandbox import demo
from knowledge import demo as demo_kb
from knowledge import store


def prepare(url: str, revision: str = "head") -> None:
    """A fresh database at url: PostgreSQL gets (re)created, then the migrations run (to head,
    or to `revision` when a bench fills tables before a migration that backfills from them)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        asyncio.run(_recreate_pg(url))
    migrate.upgrade(url, revision)


async def _recreate_pg(url: str) -> None:
    parsed = make_url(url)
    name = parsed.database
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"give the PostgreSQL database a plain name, not {name!r}")
    admin = db.create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()


async def seed(url: str, world: World) -> None:
    """Staff (synced today), customers, relations, tags, open follow-ups, channels and KB."""
    engine = db.create_engine(url)
    now = utcnow()
    async with db.create_sessionmaker(engine).begin() as session:
        session.add_all(
            Staff(userid=u, name=n, departments=[2], role="rep", active=True, synced_at=now)
            for u, n in world.reps
        )
        session.add_all(
            Tag(id=t, group_id=TAG_GROUP[0], group_name=TAG_GROUP[1], name=n, order=i)
            for i, (t, n) in enumerate(TAGS)
        )
        session.add_all(
            Customer(external_userid=c.external_userid, name=c.name) for c in world.customers
        )
        await session.flush()
        session.add_all(
            FollowRelation(userid=c.rep, external_userid=c.external_userid, add_way=1)
            for c in world.customers
        )
        session.add_all(
            CustomerTag(external_userid=c.external_userid, tag_id=t, added_by_kind="rep")
            for c in world.customers
            for t in c.tags
        )
        by_rep: dict[str, list[str]] = {}
        for c in world.customers:
            by_rep.setdefault(c.rep, []).append(c.external_userid)
        session.add_all(
            Followup(
                external_userid=ids[i], userid=rep, note=f"回访 {i}", due_at=now + followup_due(i)
            )  # fmt: skip
            for rep, ids in by_rep.items()
            for i in range(min(world.followups_per_rep, len(ids)))
        )
        await channels.store(session, channels.read_file(demo.DEMO_CHANNELS))
        await store.replace_kb(session, await asyncio.to_thread(demo_kb.load_demo))
    await engine.dispose()


@dataclass
class Outcome:
    """Inbox rows and outbox effects as the database has them."""

    inbox: Counter[str] = field(default_factory=Counter)
    inbox_kinds: Counter[str] = field(default_factory=Counter)
    effects: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    late_replies: int = 0
    inbox_errors: list[str] = field(default_factory=list)

    @property
    def open_inbox(self) -> int:
        """Rows not finished yet (processing or waiting for a retry)."""
        return self.inbox["processing"] + self.inbox["pending"]

    @property
    def open_effects(self) -> int:
        """Effects not delivered yet."""
        return sum(n for (_, status, _), n in self.effects.items() if status in OPEN)


OPEN = ("pending", "sending")


async def outcome(url: str) -> Outcome:
    """Read inbox and outbox counts (one short read transaction)."""
    engine = db.create_engine(url)
    try:
        return await _outcome(engine)
    finally:
        await engine.dispose()


async def _outcome(engine: AsyncEngine) -> Outcome:
    out = Outcome()
    async with db.create_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(InboxItem.status, InboxItem.kind, func.count()).group_by(
                InboxItem.status, InboxItem.kind
            )
        )
        for status, kind, n in rows.all():
            out.inbox[status] += n
            out.inbox_kinds[kind] += n
        effect_rows = await session.execute(
            select(Effect.kind, Effect.status, Effect.outcome, func.count()).group_by(
                Effect.kind, Effect.status, Effect.outcome
            )
        )
        out.effects = Counter({(k, s, o): n for k, s, o, n in effect_rows.all()})
        out.late_replies = int(
            await session.scalar(
                select(func.count()).where(Effect.kind == "message", Effect.key.like("reply:%"))
            )
            or 0
        )
        errors = await session.scalars(
            select(InboxItem.last_error)
            .where(InboxItem.status.in_(("pending", "parked")))
            .limit(5)
        )
        out.inbox_errors = list(errors)
    return out


def settle(url: str, timeout: float) -> Outcome:
    """Wait until no inbox row and no effect is open (or timeout); the last reading."""
    return asyncio.run(_settle(url, time.monotonic() + timeout))


async def _settle(url: str, deadline: float) -> Outcome:
    engine = db.create_engine(url)  # one connection for all the polls
    try:
        while True:
            seen = await _outcome(engine)
            if (seen.open_inbox == 0 and seen.open_effects == 0) or time.monotonic() > deadline:
                return seen
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def pg_sessions(url: str) -> int | None:
    """Connections PostgreSQL has had to this database so far (None for SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT sessions FROM pg_stat_database WHERE datname = :name"),
                {"name": parsed.database},
            )
    finally:
        await engine.dispose()
    return int(found or 0)


_WELCOME_CODE = re.compile(r"<WelcomeCode><!\[CDATA\[([^\]]+)\]\]></WelcomeCode>")


async def welcome_arrivals(url: str) -> dict[str, float]:
    """WelcomeCode -> when its add event arrived (the inbox row's received_at, epoch s)."""
    engine = db.create_engine(url)
    async with db.create_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(InboxItem.payload, InboxItem.received_at).where(
                InboxItem.kind == "event/change_external_contact/add_external_contact"
            )
        )
        out = {}
        for payload, received in rows.all():
            found = _WELCOME_CODE.search(payload)
            if found:
                out[found.group(1)] = received.timestamp()
    await engine.dispose()
    return out
