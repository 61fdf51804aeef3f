"""Customer stages (a configurable list, with history) and activity tiers (derived, never
stored): the services every face calls, and the funnel supervisors watch."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.domain.lifecycle_models import CustomerStage, StageChange
from bot.domain.models import Customer, FollowRelation

HIGH, MEDIUM, NEVER = "高活跃", "中度互动", "未互动"


def silent_label(settings: Settings) -> str:
    """The silent tier's name, e.g. 沉默30天."""
    return f"沉默{settings.activity_days[1]}天"


def tiers(settings: Settings) -> tuple[str, ...]:
    """The activity tiers, most active first."""
    return HIGH, MEDIUM, silent_label(settings), NEVER


def first_stage(settings: Settings) -> str:
    """The stage of a customer nobody has staged yet."""
    return settings.stage_names[0]


def check_stage(settings: Settings, name: str) -> str:
    """The configured stage `name` names (also by its 1-based number); UsageError otherwise."""
    name = name.strip()
    names = settings.stage_names
    if name.isdigit() and 1 <= int(name) <= len(names):
        return names[int(name) - 1]
    if name in names:
        return name
    listed = "、".join(f"{i}.{n}" for i, n in enumerate(names, 1))
    raise UsageError(f"没有阶段「{name}」，可选：{listed}")


def tier_of(settings: Settings, last: datetime | None, now: datetime) -> str:
    """The activity tier of a customer whose last interaction was at `last`."""
    if last is None:
        return NEVER
    high, silent = settings.activity_days
    age = now - last
    if age <= timedelta(days=high):
        return HIGH
    if age <= timedelta(days=silent):
        return MEDIUM
    return silent_label(settings)


def tier_filter(settings: Settings, tier: str, now: datetime) -> ColumnElement[bool]:
    """A WHERE clause on Customer.last_interaction_at selecting one tier."""
    high, silent = settings.activity_days
    last = Customer.last_interaction_at
    if tier == HIGH:
        return last >= now - timedelta(days=high)
    if tier == MEDIUM:
        return and_(last < now - timedelta(days=high), last >= now - timedelta(days=silent))
    if tier == silent_label(settings):
        return last < now - timedelta(days=silent)
    if tier == NEVER:
        return last.is_(None)
    listed = "、".join(tiers(settings))
    raise UsageError(f"没有活跃度「{tier}」，可选：{listed}")


def stage_column(settings: Settings) -> ColumnElement[str]:
    """The stage of a Customer row joined (outer) with CustomerStage."""
    return func.coalesce(CustomerStage.stage, first_stage(settings))


async def stage_of(session: AsyncSession, settings: Settings, external_userid: str) -> str:
    """The customer's current stage."""
    row = await session.get(CustomerStage, external_userid)
    return row.stage if row is not None else first_stage(settings)


async def change_stage(
    session: AsyncSession,
    settings: Settings,
    external_userid: str,
    stage: str,
    *,
    by_kind: str,
    by: str,
    userid: str = "",
    now: datetime,
) -> StageChange | None:
    """Move the customer to `stage` and keep the change in history; None when already there."""
    stage = check_stage(settings, stage)
    row = await session.get(CustomerStage, external_userid)
    before = row.stage if row is not None else first_stage(settings)
    if before == stage:
        return None
    if row is None:
        session.add(CustomerStage(external_userid=external_userid, stage=stage, changed_at=now))
    else:
        row.stage, row.changed_at = stage, now
    change = StageChange(
        external_userid=external_userid, from_stage=before, to_stage=stage, by_kind=by_kind,
        by=by, userid=userid or (by if by_kind == "rep" else ""), at=now,
    )  # fmt: skip
    session.add(change)
    await session.flush()
    return change


async def history(
    session: AsyncSession, external_userid: str, limit: int = 50
) -> list[StageChange]:
    """The customer's stage changes, newest first."""
    rows = await session.scalars(
        select(StageChange)
        .where(StageChange.external_userid == external_userid)
        .order_by(StageChange.at.desc(), StageChange.id.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class Listed:
    """One customer in a stage/tier list."""

    external_userid: str
    name: str
    stage: str
    last_interaction_at: datetime | None
    userid: str


async def list_customers(
    session: AsyncSession,
    settings: Settings,
    *,
    userids: Collection[str] | None,
    stage: str | None = None,
    tier: str | None = None,
    now: datetime,
    limit: int = 20,
) -> tuple[int, list[Listed]]:
    """(how many match, the first `limit`) of the active customers of `userids` (None: all),
    filtered by stage and activity tier; most recently active first."""
    query = (
        select(
            Customer.external_userid, Customer.name, stage_column(settings),
            Customer.last_interaction_at, func.min(FollowRelation.userid),
        )  # fmt: skip
        .join(FollowRelation, FollowRelation.external_userid == Customer.external_userid)
        .outerjoin(CustomerStage, CustomerStage.external_userid == Customer.external_userid)
        .where(FollowRelation.status == "active")
        .group_by(Customer.external_userid, Customer.name, CustomerStage.stage,
                  Customer.last_interaction_at)  # fmt: skip
    )
    if userids is not None:
        query = query.where(FollowRelation.userid.in_(list(userids)))
    if stage:
        query = query.where(stage_column(settings) == check_stage(settings, stage))
    if tier:
        query = query.where(tier_filter(settings, tier, now))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(Customer.last_interaction_at.is_(None),
                       Customer.last_interaction_at.desc(), Customer.external_userid)
        .limit(limit)
    )  # fmt: skip
    return int(total or 0), [Listed(*row) for row in rows.all()]


@dataclass(frozen=True)
class Funnel:
    """Customers per current stage, those who reached each stage in the period, and the
    conversion from each stage to the next (reached next / reached this)."""

    current: dict[str, int]
    reached: dict[str, int]
    conversion: dict[str, float | None]
    lost: int


async def funnel(
    session: AsyncSession,
    settings: Settings,
    *,
    userids: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Funnel:
    """The funnel of the active customers of `userids` (None: everyone), optionally for the
    stage changes in [since, until); a department's funnel passes its members' userids."""
    names = settings.stage_names
    mine = select(FollowRelation.external_userid).where(FollowRelation.status == "active")
    if userids is not None:
        mine = mine.where(FollowRelation.userid.in_(list(userids)))
    stage = stage_column(settings)
    rows = await session.execute(
        select(stage, func.count())
        .select_from(Customer)
        .outerjoin(CustomerStage, CustomerStage.external_userid == Customer.external_userid)
        .where(Customer.external_userid.in_(mine.distinct()))
        .group_by(stage)
    )
    current = dict.fromkeys(names, 0) | {s: int(n) for s, n in rows.all() if s in names}
    # Reached: a stage change into the stage (or a later one) in the period; the first stage
    # is reached by every customer in scope.
    rank = case({n: i for i, n in enumerate(names)}, value=StageChange.to_stage, else_=-1)
    changes = select(StageChange.external_userid, func.max(rank).label("top"))
    if userids is not None:
        changes = changes.where(StageChange.external_userid.in_(mine.distinct()))
    if since is not None:
        changes = changes.where(StageChange.at >= since)
    if until is not None:
        changes = changes.where(StageChange.at < until)
    tops = (await session.execute(changes.group_by(StageChange.external_userid))).all()
    reached = dict.fromkeys(names, 0)
    reached[names[0]] = sum(current.values()) if since is None else len(tops)
    for _euid, top in tops:
        for i in range(1, int(top) + 1):
            reached[names[i]] += 1
    conversion: dict[str, float | None] = {}
    for a, b in zip(names, names[1:], strict=False):
        conversion[f"{a}→{b}"] = round(reached[b] / reached[a], 3) if reached[a] else None
    lost = FollowRelation.status == "lost"
    lost_q = select(func.count()).select_from(FollowRelation).where(lost)
    if userids is not None:
        lost_q = lost_q.where(FollowRelation.userid.in_(list(userids)))
    if since is not None:
        lost_q = lost_q.where(FollowRelation.ended_at >= since)
    if until is not None:
        lost_q = lost_q.where(FollowRelation.ended_at < until)
    return Funnel(current, reached, conversion, int(await session.scalar(lost_q) or 0))
