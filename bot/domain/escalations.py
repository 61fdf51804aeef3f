"""Escalations: a customer situation raised to supervisors, and its resolution."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.core.errors import NotFoundError, UsageError
from bot.domain.models import Escalation

OPEN = "open"
RESOLVED = "resolved"
TEXT_MAX = 1000


async def open_escalation(
    session: AsyncSession,
    *,
    external_userid: str,
    userid: str,
    reason: str,
    source: str = "rep",
) -> Escalation:
    """Open an escalation (not yet notified: notify.notify_escalation or the scheduler does)."""
    reason = reason.strip()
    if not reason:
        raise UsageError("请写明升级原因")
    escalation = Escalation(
        external_userid=external_userid,
        userid=userid,
        reason=reason[:TEXT_MAX],
        source=source,
        status=OPEN,
    )
    session.add(escalation)
    await session.flush()
    return escalation


async def resolve_escalation(
    session: AsyncSession, *, escalation_id: int, by: str, resolution: str
) -> Escalation:
    """Close an open escalation with a resolution note."""
    escalation = await session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFoundError(f"没有编号为 {escalation_id} 的升级")
    if escalation.status != OPEN:
        raise UsageError(f"升级 #{escalation_id} 已经处理过了")
    resolution = resolution.strip()
    if not resolution:
        raise UsageError("请写明处理说明")
    escalation.status = RESOLVED
    escalation.assignee = escalation.assignee or by
    escalation.resolution = resolution[:TEXT_MAX]
    escalation.resolved_at = utcnow()
    await session.flush()
    return escalation


async def open_escalations(
    session: AsyncSession, *, userids: Collection[str] | None = None, limit: int = 50
) -> list[Escalation]:
    """Open escalations, oldest first; limited to those raised about userids' customers."""
    query = select(Escalation).where(Escalation.status == OPEN)
    if userids is not None:
        query = query.where(Escalation.userid.in_(list(userids)))
    rows = await session.scalars(query.order_by(Escalation.created_at, Escalation.id).limit(limit))
    return list(rows)
