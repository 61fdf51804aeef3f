"""Read-side queries of the 公海 pool for the console: open entries filtered by stage, tier and
tag, claims per rep today, the move history and the refused takes (from the audit log).

Every query takes `userids`, the reps in the viewer's scope (None: everyone); a pooled customer
belongs to its last rep's department, one without a rep to everyone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.domain import stages
from bot.domain.lifecycle_models import CustomerMove, CustomerStage, PoolEntry
from bot.domain.lifecycle_views import Filters, filtered, tags_of
from bot.domain.models import AuditLog, Customer
from bot.domain.pool import OPEN, STARTED

# Audit actions of pool takes (bot.domain.pool.take records refusals with result "failed").
TAKE_ACTIONS = ("pool_claim", "pool_assign")
REFUSALS_WINDOW = timedelta(days=30)
# Refusals read before the scope filter (department filtering is on the JSON detail).
SCAN_MAX = 2000


def _pool_scope(userids: Collection[str] | None) -> ColumnElement[bool]:
    if userids is None:
        return true()
    return or_(PoolEntry.from_userid == "", PoolEntry.from_userid.in_(list(userids)))


@dataclass(frozen=True)
class PoolRow:
    """One open pool entry with what the pool page shows about its customer."""

    entry: PoolEntry
    name: str
    stage: str
    last_interaction_at: datetime | None
    tags: list[str]


async def pool(
    session: AsyncSession,
    settings: Settings,
    *,
    userids: Collection[str] | None,
    filters: Filters,
    now: datetime,
    limit: int = 100,
) -> tuple[int, list[PoolRow]]:
    """(how many match, the first `limit`) open pool entries in scope, oldest first."""
    query = (
        select(
            PoolEntry, Customer.name, stages.stage_column(settings), Customer.last_interaction_at
        )
        .join(Customer, Customer.external_userid == PoolEntry.external_userid)
        .outerjoin(CustomerStage, CustomerStage.external_userid == Customer.external_userid)
        .where(PoolEntry.status == OPEN, _pool_scope(userids))
    )
    query = filtered(query, settings, filters, now)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (
        await session.execute(query.order_by(PoolEntry.entered_at, PoolEntry.id).limit(limit))
    ).all()
    tags = await tags_of(session, [r[0].external_userid for r in rows])
    return int(total or 0), [
        PoolRow(
            entry, name or entry.external_userid, stage, last, tags.get(entry.external_userid, [])
        )
        for entry, name, stage, last in rows
    ]


async def pool_entry(
    session: AsyncSession, entry_id: int, userids: Collection[str] | None
) -> PoolEntry | None:
    """An open pool entry the viewer may see."""
    return await session.scalar(
        select(PoolEntry).where(
            PoolEntry.id == entry_id, PoolEntry.status == OPEN, _pool_scope(userids)
        )
    )


async def claims_today(
    session: AsyncSession, settings: Settings, userids: Collection[str], now: datetime
) -> dict[str, int]:
    """userid -> claims started since the corp's local midnight (as the daily limit counts)."""
    tz = ZoneInfo(settings.timezone)
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = await session.execute(
        select(CustomerMove.to_userid, func.count())
        .where(
            CustomerMove.kind == "claim",
            CustomerMove.status == STARTED,
            CustomerMove.at >= midnight,
            CustomerMove.to_userid.in_(list(userids)),
        )
        .group_by(CustomerMove.to_userid)
    )
    return dict.fromkeys(userids, 0) | {u: int(n) for u, n in rows.all()}


async def moves(
    session: AsyncSession, *, userids: Collection[str] | None, limit: int = 50
) -> list[tuple[CustomerMove, str]]:
    """Customer moves (claims, assignments, 离职继承) touching `userids`, newest first."""
    query = select(CustomerMove, Customer.name).join(
        Customer, Customer.external_userid == CustomerMove.external_userid
    )
    if userids is not None:
        wanted = list(userids)
        query = query.where(
            or_(CustomerMove.from_userid.in_(wanted), CustomerMove.to_userid.in_(wanted))
        )
    rows = await session.execute(
        query.order_by(CustomerMove.at.desc(), CustomerMove.id.desc()).limit(limit)
    )
    return [(move, name or move.external_userid) for move, name in rows.all()]


async def refused_takes(
    session: AsyncSession,
    *,
    userids: Collection[str] | None,
    now: datetime,
    limit: int = 50,
) -> list[AuditLog]:
    """Claims and assignments WeCom (or a limit) refused in the last REFUSALS_WINDOW, newest
    first (from the audit log; the window keeps the read on the created_at index range)."""
    rows = await session.scalars(
        select(AuditLog)
        .where(
            AuditLog.created_at >= now - REFUSALS_WINDOW,
            AuditLog.action.in_(TAKE_ACTIONS),
            AuditLog.result == "failed",
        )
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(SCAN_MAX)
    )
    wanted = None if userids is None else set(userids)
    out = [
        row
        for row in rows
        if wanted is None or row.actor in wanted or str(row.detail.get("to", "")) in wanted
    ]
    return out[:limit]
