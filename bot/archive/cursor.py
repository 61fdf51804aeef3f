"""The archive's seq cursor and the one-puller lease, in one database row.

Any number of pullers may run (workers, hosts); the one holding the lease pulls and the
others wait for it to lapse. The holder renews it on every step, and moves the cursor only
in the transaction that stores the batch, and only while it still holds the lease, so a
puller that stalled past its lease can neither skip nor repeat another's work.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.archive.source import ArchiveSDKError
from bot.core import db
from bot.domain.archive_models import ArchiveCursor


class LeaseLostError(Exception):
    """Another puller took the lease while this one was storing a batch."""


async def acquire(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    *,
    holder: str,
    now: datetime,
    lease: float,
) -> int | None:
    """Take or renew the lease; the cursor's seq while held, None while another holds it."""
    async with sessionmaker.begin() as session:
        await db.insert_ignore(session, ArchiveCursor, name=name, updated_at=now)
        free = or_(
            ArchiveCursor.holder == holder,
            ArchiveCursor.holder == "",
            ArchiveCursor.lease_until.is_(None),
            ArchiveCursor.lease_until <= now,
        )
        result = await session.execute(
            update(ArchiveCursor)
            .where(ArchiveCursor.name == name, free)
            .values(holder=holder, lease_until=now + timedelta(seconds=lease))
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        seq = await session.scalar(select(ArchiveCursor.seq).where(ArchiveCursor.name == name))
    return int(seq or 0)


async def advance(
    session: AsyncSession,
    name: str,
    *,
    holder: str,
    from_seq: int,
    to_seq: int,
    skipped: int,
    now: datetime,
) -> None:
    """Move the cursor in the batch's transaction; LeaseLostError (roll back) if not ours."""
    result = await session.execute(
        update(ArchiveCursor)
        .where(
            ArchiveCursor.name == name,
            ArchiveCursor.holder == holder,
            ArchiveCursor.seq == from_seq,
        )
        .values(
            seq=to_seq, skipped=ArchiveCursor.skipped + skipped, last_ok_at=now,
            error_code=None, error="", updated_at=now,
        )  # fmt: skip
    )
    if getattr(result, "rowcount", 0) != 1:
        raise LeaseLostError(name)


async def mark_ok(
    sessionmaker: async_sessionmaker[AsyncSession], name: str, *, holder: str, now: datetime
) -> None:
    """A pull that found nothing new: the service answers, so clear any old error."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(ArchiveCursor)
            .where(ArchiveCursor.name == name, ArchiveCursor.holder == holder)
            .values(last_ok_at=now, error_code=None, error="", updated_at=now)
        )


async def mark_error(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    *,
    error: ArchiveSDKError,
    now: datetime,
) -> None:
    """Remember the last SDK error for /healthz (its code and explanation, nothing secret)."""
    async with sessionmaker.begin() as session:
        await db.insert_ignore(session, ArchiveCursor, name=name, updated_at=now)
        await session.execute(
            update(ArchiveCursor)
            .where(ArchiveCursor.name == name)
            .values(error_code=error.code, error=error.message[:255], error_at=now,
                    updated_at=now)  # fmt: skip
        )


async def release(
    sessionmaker: async_sessionmaker[AsyncSession], name: str, *, holder: str
) -> None:
    """Give the lease up on a clean stop, so another puller takes over at once."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(ArchiveCursor)
            .where(ArchiveCursor.name == name, ArchiveCursor.holder == holder)
            .values(holder="", lease_until=None)
        )


async def status(session: AsyncSession, now: datetime) -> dict[str, Any] | None:
    """The archive's state for /healthz; None when no puller has ever run."""
    row = (await session.scalars(select(ArchiveCursor).order_by(ArchiveCursor.name))).first()
    if row is None:
        return None
    running = bool(row.holder) and row.lease_until is not None and row.lease_until > now
    body: dict[str, Any] = {
        "status": "error" if row.error_code is not None else "ok" if running else "stopped",
        "seq": row.seq,
        "puller": "running" if running else "none",
        "last_ok_at": row.last_ok_at.isoformat() if row.last_ok_at else None,
        "skipped_records": row.skipped,
    }
    if row.error_code is not None:
        body["error"] = {"code": row.error_code, "message": row.error,
                         "at": row.error_at.isoformat() if row.error_at else None}  # fmt: skip
    return body
