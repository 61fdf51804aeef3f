"""The dashboard's figures; every query takes the viewer's Scope (console.scope) and a period.

All of them use an index on the big tables (tests/console/test_explain.py runs EXPLAIN on each).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import response_times
from bot.domain.models import Customer, Escalation, FollowRelation, Followup, Message
from bot.domain.response_times import FirstResponse, Turn
from bot.domain.stats import CUSTOMER_SOURCES
from console.scope import Scope

LOST_STATUSES = ("lost", "deleted")
LOST_LABEL = {"lost": "客户删除了员工", "deleted": "员工删除了客户"}
LIST_MAX = 500


def customers_in(scope: Scope) -> Select[Any]:
    """External userids of the customers the scope's reps follow (for message queries)."""
    return select(FollowRelation.external_userid).where(scope.where(FollowRelation.userid))


def scoped_messages(scope: Scope) -> Any:
    """A filter keeping the messages of the scope's customers (everything for an admin)."""
    if scope.reps is None:
        return Message.id.is_not(None)
    return Message.external_userid.in_(customers_in(scope))


async def new_by_channel(
    db: AsyncSession, scope: Scope, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """(channel state, new follow relations) in [start, end), most first."""
    rows = await db.execute(
        select(FollowRelation.state, func.count())
        .where(
            FollowRelation.added_at >= start,
            FollowRelation.added_at < end,
            scope.where(FollowRelation.userid),
        )
        .group_by(FollowRelation.state)
    )
    return sorted(((str(s or ""), int(n)) for s, n in rows), key=lambda r: (-r[1], r[0]))


async def lost_by_kind(
    db: AsyncSession, scope: Scope, start: datetime, end: datetime
) -> dict[str, int]:
    """lost (the customer deleted the rep) / deleted (the rep deleted them) in [start, end)."""
    rows = await db.execute(
        select(FollowRelation.status, func.count())
        .where(
            FollowRelation.ended_at >= start,
            FollowRelation.ended_at < end,
            FollowRelation.status.in_(LOST_STATUSES),
            scope.where(FollowRelation.userid),
        )
        .group_by(FollowRelation.status)
    )
    found = {str(s): int(n) for s, n in rows}
    return {kind: found.get(kind, 0) for kind in LOST_STATUSES}


async def series(
    db: AsyncSession, scope: Scope, buckets: Sequence[tuple[datetime, datetime]], *, lost: bool
) -> list[int]:
    """New (or lost) follow relations per bucket, in one statement of one count per bucket.

    Each count is a range on the index (a year of month buckets reads each entry once); one
    scan of the whole range summing a CASE per bucket and row cost ten times more."""
    column = FollowRelation.ended_at if lost else FollowRelation.added_at

    def count(a: datetime, b: datetime) -> Any:
        query = select(func.count()).where(
            column >= a, column < b, scope.where(FollowRelation.userid)
        )
        if lost:
            query = query.where(FollowRelation.status.in_(LOST_STATUSES))
        return query.scalar_subquery()

    row = (await db.execute(select(*(count(a, b) for a, b in buckets)))).one()
    return [int(n or 0) for n in row]


@dataclass(frozen=True, slots=True)
class Answering:
    """Customer messages in the period and what became of the kf ones."""

    messages_in: int
    kf_in: int
    auto_replied: int
    handed_over: int

    @property
    def auto_rate(self) -> float | None:
        """Share of kf customer messages the FAQ answered."""
        return self.auto_replied / self.kf_in if self.kf_in else None

    @property
    def handover_rate(self) -> float | None:
        """Share of kf customer messages the bot passed to a person."""
        return self.handed_over / self.kf_in if self.kf_in else None


def customer_sources() -> Any:
    """kf and archive messages. Wrapped so no index on source is chosen over the time range:
    SQLite prefers any equality (here the unique (source, source_msgid) index), which reads
    every kf and archive message ever stored instead of the period's."""
    return func.coalesce(Message.source, "").in_(CUSTOMER_SOURCES)


def _inbound(scope: Scope, start: datetime, end: datetime) -> Any:
    return and_(
        Message.created_at >= start,
        Message.created_at < end,
        Message.direction == "in",
        customer_sources(),
        scoped_messages(scope),
    )


def message_kind(kind: str) -> Any:
    """The extra filter of a message drill-down list: in | kf | auto | handover."""
    kf = Message.source == "kf"
    return {
        "kf": kf,
        "auto": and_(kf, Message.auto_replied.is_(True)),
        # The bot finished with it without answering: a person took it (or already had it).
        "handover": and_(kf, Message.auto_replied.is_(False), Message.answered_at.is_not(None)),
    }.get(kind, Message.id.is_not(None))


async def answering(db: AsyncSession, scope: Scope, start: datetime, end: datetime) -> Answering:
    """FAQ auto-answer and handover counts over the period's customer messages."""

    def flag(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    row = (
        await db.execute(
            select(
                func.count(),
                flag(message_kind("kf")),
                flag(message_kind("auto")),
                flag(message_kind("handover")),
            ).where(_inbound(scope, start, end))
        )
    ).one()
    return Answering(*(int(v or 0) for v in row))


def messages_query(scope: Scope, start: datetime, end: datetime, kind: str) -> Any:
    """The customer messages behind an answering figure, newest first."""
    return (
        select(Message, Customer.name)
        .outerjoin(Customer, Customer.external_userid == Message.external_userid)
        .where(_inbound(scope, start, end), message_kind(kind))
        .order_by(Message.created_at.desc())
        .limit(LIST_MAX)
    )


def _customers(scope: Scope) -> Any | None:
    return None if scope.reps is None else customers_in(scope)


async def first_response(
    db: AsyncSession, scope: Scope, start: datetime, end: datetime
) -> FirstResponse:
    """The period's first-response figures (p50, p90, unanswered), as /stats computes them."""
    return await response_times.first_response(
        db, customers=_customers(scope), start=start, end=end
    )


async def slowest_turns(
    db: AsyncSession, scope: Scope, start: datetime, end: datetime, *, limit: int
) -> list[Turn]:
    """The period's turns, unanswered first, then the longest waits."""
    return await response_times.slowest(
        db, customers=_customers(scope), start=start, end=end, limit=limit
    )


async def per_rep(
    db: AsyncSession, scope: Scope, start: datetime, end: datetime, now: datetime
) -> dict[str, Counter[str]]:
    """userid -> {new, lost, overdue, escalations}: the per-rep table."""
    table: dict[str, Counter[str]] = {}

    async def tally(name: str, query: Any) -> None:
        for userid, n in await db.execute(query):
            table.setdefault(str(userid), Counter())[name] += int(n)

    rep = FollowRelation.userid
    await tally(
        "new",
        select(rep, func.count())
        .where(FollowRelation.added_at >= start, FollowRelation.added_at < end, scope.where(rep))
        .group_by(rep),
    )
    await tally(
        "lost",
        select(rep, func.count())
        .where(
            FollowRelation.ended_at >= start,
            FollowRelation.ended_at < end,
            FollowRelation.status.in_(LOST_STATUSES),
            scope.where(rep),
        )
        .group_by(rep),
    )
    await tally(
        "overdue",
        select(Followup.userid, func.count()).where(overdue(scope, now)).group_by(Followup.userid),
    )
    await tally(
        "escalations",
        select(Escalation.userid, func.count())
        .where(open_escalations(scope))
        .group_by(Escalation.userid),
    )
    return table


def overdue(scope: Scope, now: datetime) -> Any:
    """Follow-ups not done whose due time has passed, in scope."""
    return and_(
        Followup.done_at.is_(None),
        Followup.due_at.is_not(None),
        Followup.due_at <= now,
        scope.where(Followup.userid),
    )


def open_escalations(scope: Scope) -> Any:
    """Escalations still open, in scope (by the rep they concern)."""
    return and_(Escalation.status == "open", scope.where(Escalation.userid))
