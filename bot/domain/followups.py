"""Follow-ups a rep owes customers, with optional due times (the scheduler reminds once)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, PermissionDeniedError, UsageError
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_ADMIN, Followup, Staff

TEXT_MAX = 1000


async def add_followup(
    session: AsyncSession,
    *,
    external_userid: str,
    userid: str,
    note: str,
    due_at: datetime | None = None,
) -> Followup:
    """Create a follow-up for userid about a customer, due at `due_at` (aware) if given."""
    note = note.strip()
    if not note:
        raise UsageError("跟进内容不能为空")
    if len(note) > TEXT_MAX:
        raise UsageError(f"跟进内容最多 {TEXT_MAX} 字")
    if due_at is not None and due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    followup = Followup(external_userid=external_userid, userid=userid, note=note, due_at=due_at)
    session.add(followup)
    await session.flush()
    return followup


async def done_followup(
    session: AsyncSession, *, followup_id: int, by: Staff, now: datetime
) -> Followup:
    """Mark a follow-up done; only its owner (or an admin / their supervisor) may."""
    followup = await session.get(Followup, followup_id)
    if followup is None:
        raise NotFoundError(f"没有编号为 {followup_id} 的跟进")
    if followup.userid != by.userid and by.role != ROLE_ADMIN:
        team = await staff_service.team_userids(session, by)
        if team is not None and followup.userid not in team:
            raise PermissionDeniedError("这不是你的跟进")
    if followup.done_at is not None:
        raise UsageError(f"跟进 #{followup_id} 已经完成了")
    followup.done_at = now
    await session.flush()
    return followup


async def open_followups(session: AsyncSession, userid: str, limit: int = 50) -> list[Followup]:
    """userid's open follow-ups: those with a due time first (soonest first), then the rest."""
    rows = await session.scalars(
        select(Followup)
        .where(Followup.userid == userid, Followup.done_at.is_(None))
        .order_by(Followup.due_at.is_(None), Followup.due_at, Followup.id)
        .limit(limit)
    )
    return list(rows)


async def overdue(
    session: AsyncSession,
    *,
    now: datetime,
    userids: Collection[str] | None = None,
    limit: int = 50,
) -> list[Followup]:
    """Open follow-ups past due, oldest first; limited to userids when given."""
    query = select(Followup).where(
        Followup.done_at.is_(None), Followup.due_at.is_not(None), Followup.due_at <= now
    )
    if userids is not None:
        query = query.where(Followup.userid.in_(list(userids)))
    rows = await session.scalars(query.order_by(Followup.due_at, Followup.id).limit(limit))
    return list(rows)


def is_overdue(followup: Followup, now: datetime) -> bool:
    """Open and past its due time."""
    return followup.done_at is None and followup.due_at is not None and followup.due_at <= now
