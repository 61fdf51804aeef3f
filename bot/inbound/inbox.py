"""The durable inbox: store functions for callbacks that must survive a crash."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import InboxItem

# Rows that lose their point when late go first in a sweep: a welcome's WelcomeCode lives 20 s
# (wecom-reference §4), so a crash's leftover add event must not queue behind other replays.
URGENT_KINDS = ("event/change_external_contact/add_external_contact",)

# Retry back-off after a failed attempt: 10 s, 40 s, 90 s, ... capped at 15 minutes.
_BACKOFF_BASE = 10.0
_BACKOFF_CAP = 900.0


def _due(now: datetime, lease: float) -> ColumnElement[bool]:
    """Rows to (re)process: retries that are due, and claims whose lease ran out (a crash)."""
    return or_(
        and_(InboxItem.status == "pending", InboxItem.next_attempt_at <= now),
        and_(
            InboxItem.status == "processing",
            InboxItem.claimed_at < now - timedelta(seconds=lease),
        ),
    )


async def due_ids(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, lease: float, limit: int = 50
) -> list[int]:
    """Ids of rows that are due, urgent kinds first, then oldest first; claim each with `claim`
    just before running it."""
    urgent = case((InboxItem.kind.in_(URGENT_KINDS), 0), else_=1)
    async with sessionmaker() as session:
        rows = await session.execute(
            select(InboxItem.id)
            .where(_due(now, lease))
            .order_by(urgent, InboxItem.id)
            .limit(limit)
        )
        return list(rows.scalars())


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    item_id: int,
    *,
    instance: str,
    now: datetime,
    lease: float,
) -> InboxItem | None:
    """Claim one due row with a conditional update, so two workers never share it."""
    async with sessionmaker.begin() as session:
        result = await session.execute(
            update(InboxItem)
            .where(InboxItem.id == item_id, _due(now, lease))
            .values(
                status="processing",
                claimed_by=instance,
                claimed_at=now,
                attempts=InboxItem.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await session.get(InboxItem, item_id)


async def claim_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    instance: str,
    now: datetime,
    lease: float,
    limit: int = 50,
) -> list[InboxItem]:
    """Claim all due rows at once (their leases start now: run them at once, or use `claim`)."""
    claimed: list[InboxItem] = []
    for item_id in await due_ids(sessionmaker, now=now, lease=lease, limit=limit):
        item = await claim(sessionmaker, item_id, instance=instance, now=now, lease=lease)
        if item is not None:
            claimed.append(item)
    return claimed


async def renew(
    sessionmaker: async_sessionmaker[AsyncSession], item_id: int, *, instance: str, now: datetime
) -> bool:
    """Extend this instance's claim on a row it is still processing; False if it lost it."""
    async with sessionmaker.begin() as session:
        result = await session.execute(
            update(InboxItem)
            .where(
                InboxItem.id == item_id,
                InboxItem.status == "processing",
                InboxItem.claimed_by == instance,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def release(
    sessionmaker: async_sessionmaker[AsyncSession], *, instance: str, now: datetime
) -> int:
    """Give back this instance's claims (shutdown): its `processing` rows become due now.

    A stopping worker must not sit on rows until their lease runs out: another worker (or
    this one, restarted) takes them at its next sweep. Their writes never committed (the done
    mark commits with them), so re-running them is safe.
    """
    async with sessionmaker.begin() as session:
        result = await session.execute(
            update(InboxItem)
            .where(InboxItem.status == "processing", InboxItem.claimed_by == instance)
            .values(status="pending", next_attempt_at=now, claimed_by="")
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def mark_failed(
    session: AsyncSession, item_id: int, *, error: str, now: datetime, max_attempts: int
) -> str:
    """Record a failed attempt: retry later with back-off, or park it after max_attempts."""
    item = await session.get(InboxItem, item_id)
    if item is None:
        return "missing"
    item.last_error = error[:2000]
    if item.attempts >= max_attempts:
        item.status = "parked"
        item.next_attempt_at = None
    else:
        item.status = "pending"
        delay = min(_BACKOFF_CAP, _BACKOFF_BASE * item.attempts**2)
        item.next_attempt_at = now + timedelta(seconds=delay)
    return item.status


async def retry_soon(
    session: AsyncSession, item_id: int, *, reason: str, now: datetime, after: float
) -> None:
    """Put a row back for another try in `after` s: its handler could not start (a lock held
    elsewhere). Unlike mark_failed, no back-off and no parking: nothing went wrong with it."""
    item = await session.get(InboxItem, item_id)
    if item is not None:
        item.status, item.last_error = "pending", reason[:2000]
        item.next_attempt_at = now + timedelta(seconds=after)


async def parked(session: AsyncSession, limit: int = 50) -> list[InboxItem]:
    """Rows that kept failing: for admins to look at (never silently dropped)."""
    rows = await session.execute(
        select(InboxItem).where(InboxItem.status == "parked").order_by(InboxItem.id).limit(limit)
    )
    return list(rows.scalars())


async def counts(session: AsyncSession) -> dict[str, int]:
    """Row counts by status, for the health page."""
    rows = await session.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status))
    return {status: n for status, n in rows.all()}


async def mark_done(
    session: AsyncSession,
    item_id: int,
    *,
    instance: str,
    attempt: int,
    now: datetime,
    note: str = "",
) -> bool:
    """Mark our claimed row done in the caller's transaction; False if we no longer hold it.

    The claim (instance and attempt) is the optimistic lock of the transactional inbox: a
    worker whose lease ran out must not commit its writes beside the one that took over.
    """
    result = await session.execute(
        update(InboxItem)
        .where(
            InboxItem.id == item_id,
            InboxItem.status == "processing",
            InboxItem.claimed_by == instance,
            InboxItem.attempts == attempt,
        )
        .values(status="done", processed_at=now, last_error=note)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def purge_done(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` done rows processed before `before` (retention: their payloads are
    decrypted customer messages, and nothing reads a done row again); how many went."""
    ids = (
        select(InboxItem.id)
        .where(InboxItem.status == "done", InboxItem.processed_at < before)
        .limit(limit)
    )
    result = await session.execute(
        delete(InboxItem).where(InboxItem.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
