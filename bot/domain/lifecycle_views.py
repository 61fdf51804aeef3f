"""Read-side queries of the customer lifecycle that the console needs and the services lack:
customer lists filtered by stage, activity tier and tag, the stages per rep, the customers
behind a funnel figure and SOP run counts (the pool's are in bot.domain.pool_views).

Every query takes `userids`, the reps in the viewer's scope (None: everyone).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.domain import stages
from bot.domain.lifecycle_models import CustomerStage, SopRun, StageChange
from bot.domain.models import Customer, CustomerTag, FollowRelation, Tag

ACTIVE = "active"


@dataclass(frozen=True)
class Filters:
    """What a list is narrowed to (empty: no narrowing)."""

    stage: str = ""
    tier: str = ""
    tag: str = ""
    q: str = ""


def filtered(query: Select, settings: Settings, filters: Filters, now: datetime) -> Select:  # type: ignore[type-arg]
    """Stage, tier, tag and name filters on a query over Customer outer-joined to its stage."""
    if filters.stage:
        query = query.where(
            stages.stage_column(settings) == stages.check_stage(settings, filters.stage)
        )
    if filters.tier:
        query = query.where(stages.tier_filter(settings, filters.tier, now))
    if filters.tag:
        tagged = (
            select(CustomerTag.id)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(
                CustomerTag.external_userid == Customer.external_userid, Tag.name == filters.tag
            )
        )
        query = query.where(exists(tagged))
    if filters.q:
        query = query.where(Customer.name.contains(filters.q, autoescape=True))
    return query


async def tags_of(session: AsyncSession, ids: Collection[str]) -> dict[str, list[str]]:
    """external_userid -> its tag names."""
    if not ids:
        return {}
    rows = await session.execute(
        select(CustomerTag.external_userid, Tag.name)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerTag.external_userid.in_(list(ids)))
        .order_by(Tag.order, Tag.name)
    )
    out: dict[str, list[str]] = {}
    for euid, name in rows.all():
        out.setdefault(euid, []).append(name)
    return out


@dataclass(frozen=True)
class CustomerRow:
    """One customer in a console list."""

    external_userid: str
    name: str
    stage: str
    last_interaction_at: datetime | None
    userid: str
    tags: list[str]


def _followed(userids: Collection[str] | None) -> ColumnElement[bool]:
    """The customer in the outer query has an active relation with one of `userids`."""
    if userids is None:
        return exists(
            select(FollowRelation.id).where(
                FollowRelation.external_userid == Customer.external_userid,
                FollowRelation.status == ACTIVE,
            )
        )
    # A set of the scope's customers (the userid index), not a correlated probe per customer:
    # SQLite would otherwise probe by userid for every customer of the corp.
    return Customer.external_userid.in_(
        select(FollowRelation.external_userid).where(
            FollowRelation.userid.in_(list(userids)), FollowRelation.status == ACTIVE
        )
    )


async def customers(
    session: AsyncSession,
    settings: Settings,
    *,
    userids: Collection[str] | None,
    filters: Filters,
    now: datetime,
    limit: int = 100,
) -> tuple[int, list[CustomerRow]]:
    """(how many match, the first `limit`) active customers of `userids`, most recent first.

    The rows walk customer.last_interaction_at's index newest first and stop at `limit`; the
    count is a separate aggregate (no GROUP BY over every relation). Never-active customers
    come last on SQLite and PostgreSQL alike (NULLS LAST)."""
    base = (
        select(
            Customer.external_userid,
            Customer.name,
            stages.stage_column(settings),
            Customer.last_interaction_at,
        )
        .outerjoin(CustomerStage, CustomerStage.external_userid == Customer.external_userid)
        .where(_followed(userids))
    )
    base = filtered(base, settings, filters, now)
    if filters == Filters():
        # Unfiltered: count the relations (an index), not a subquery per customer.
        count = select(func.count(FollowRelation.external_userid.distinct())).where(
            FollowRelation.status == ACTIVE
        )
        if userids is not None:
            count = count.where(FollowRelation.userid.in_(list(userids)))
        total = await session.scalar(count)
    else:
        total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = (
        await session.execute(
            # No tie-breaker: one would sort every customer who never wrote (all NULL).
            base.order_by(Customer.last_interaction_at.desc().nulls_last()).limit(limit)
        )
    ).all()
    ids = [r[0] for r in rows]
    reps: dict[str, str] = {}
    if ids:
        rel = select(FollowRelation.external_userid, func.min(FollowRelation.userid)).where(
            FollowRelation.external_userid.in_(ids), FollowRelation.status == ACTIVE
        )
        if userids is not None:
            rel = rel.where(FollowRelation.userid.in_(list(userids)))
        found = await session.execute(rel.group_by(FollowRelation.external_userid))
        reps = {euid: rep for euid, rep in found.all()}
    tags = await tags_of(session, ids)
    return int(total or 0), [
        CustomerRow(euid, name or euid, stage, last, reps.get(euid, ""), tags.get(euid, []))
        for euid, name, stage, last in rows
    ]


async def in_scope(
    session: AsyncSession, external_userid: str, userids: Collection[str] | None
) -> bool:
    """Whether the customer exists and one of its relations (any status) is with `userids`."""
    if await session.get(Customer, external_userid) is None:
        return False
    if userids is None:
        return True
    found = await session.scalar(
        select(FollowRelation.id)
        .where(
            FollowRelation.external_userid == external_userid,
            FollowRelation.userid.in_(list(userids)),
        )
        .limit(1)
    )
    return found is not None


async def stages_by_rep(
    session: AsyncSession, settings: Settings, *, userids: Collection[str] | None
) -> dict[str, dict[str, int]]:
    """userid -> stage -> how many of the rep's active customers are in it now.

    Two aggregates instead of a join of every relation with its stage: the rep's active
    customers, and those with a stage row; the first stage is the difference (a customer
    without a row is in the first stage)."""
    first = stages.first_stage(settings)
    totals = select(FollowRelation.userid, func.count()).where(FollowRelation.status == ACTIVE)
    staged = (
        select(FollowRelation.userid, CustomerStage.stage, func.count())
        .join(FollowRelation, FollowRelation.external_userid == CustomerStage.external_userid)
        .where(FollowRelation.status == ACTIVE, CustomerStage.stage != first)
    )
    if userids is not None:
        totals = totals.where(FollowRelation.userid.in_(list(userids)))
        staged = staged.where(FollowRelation.userid.in_(list(userids)))
    out: dict[str, dict[str, int]] = {}
    for userid, n in (await session.execute(totals.group_by(FollowRelation.userid))).all():
        out[userid] = dict.fromkeys(settings.stage_names, 0) | {first: int(n)}
    rows = await session.execute(staged.group_by(FollowRelation.userid, CustomerStage.stage))
    for userid, name, n in rows.all():
        counts = out.get(userid)
        if counts is not None and name in counts:
            counts[name] += int(n)
            counts[first] -= int(n)
    return out


async def reached(
    session: AsyncSession,
    settings: Settings,
    stage: str,
    *,
    userids: Collection[str] | None,
    since: datetime,
    until: datetime,
    limit: int = 200,
) -> list[tuple[StageChange, str]]:
    """Stage changes into `stage` in [since, until) of customers in scope, newest first."""
    stage = stages.check_stage(settings, stage)
    query = (
        select(StageChange, Customer.name)
        .join(Customer, Customer.external_userid == StageChange.external_userid)
        .where(StageChange.to_stage == stage, StageChange.at >= since, StageChange.at < until)
    )
    if userids is not None:
        mine = select(FollowRelation.external_userid).where(
            FollowRelation.status == ACTIVE, FollowRelation.userid.in_(list(userids))
        )
        query = query.where(StageChange.external_userid.in_(mine))
    rows = await session.execute(
        query.order_by(StageChange.at.desc(), StageChange.id.desc()).limit(limit)
    )
    return [(change, name or change.external_userid) for change, name in rows.all()]


async def run_counts(
    session: AsyncSession, *, userids: Collection[str] | None, rule_id: str | None = None
) -> dict[str, dict[str, int]]:
    """rule_id -> run status -> how many runs (steps) of reps in scope."""
    query = select(SopRun.rule_id, SopRun.status, func.count()).group_by(
        SopRun.rule_id, SopRun.status
    )
    if userids is not None:
        query = query.where(SopRun.userid.in_(list(userids)))
    if rule_id is not None:
        query = query.where(SopRun.rule_id == rule_id)
    out: dict[str, dict[str, int]] = {}
    for rule, status, n in (await session.execute(query)).all():
        out.setdefault(rule, {})[status] = int(n)
    return out


async def rule_runs(
    session: AsyncSession,
    rule_id: str,
    *,
    userids: Collection[str] | None,
    status: str = "",
    limit: int = 100,
) -> list[tuple[SopRun, str]]:
    """A rule's runs of reps in scope (optionally one status), newest due first."""
    query = (
        select(SopRun, Customer.name)
        .join(Customer, Customer.external_userid == SopRun.external_userid)
        .where(SopRun.rule_id == rule_id)
    )
    if userids is not None:
        query = query.where(SopRun.userid.in_(list(userids)))
    if status:
        query = query.where(SopRun.status == status)
    rows = await session.execute(
        query.order_by(SopRun.due_at.desc(), SopRun.id.desc()).limit(limit)
    )
    return [(run, name or run.external_userid) for run, name in rows.all()]
