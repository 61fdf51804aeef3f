"""Team figures for /stats and the dashboard: customers, messages, follow-ups, escalations."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import response_times
from bot.domain.models import CustomerTag, Escalation, FollowRelation, Followup, Message, Tag

# What customers sent: kf and the chat archive. A rep's 「获取建议」 look-up in the sidebar is
# stored too (source "sidebar"), but it is the rep typing, not a customer message.
CUSTOMER_SOURCES = ("kf", "archive")


@dataclass(frozen=True)
class Stats:
    """Figures for one period and one team (team None = everyone)."""

    new_customers: int
    lost_customers: int
    messages_in: int
    auto_replied: int
    followups_done: int
    followups_overdue: int
    open_escalations: int
    top_tags: list[tuple[str, int]]

    @property
    def auto_reply_rate(self) -> float | None:
        """Share of inbound customer messages answered automatically (None without messages)."""
        return self.auto_replied / self.messages_in if self.messages_in else None


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


async def _top_tags(
    session: AsyncSession, mine: Select[Any] | None, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """The five tags put on most customers in [start, end), within `mine` when given."""
    query = (
        select(Tag.name, func.count(CustomerTag.id))
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.created_at >= start, CustomerTag.created_at < end)
    )
    if mine is not None:
        query = query.where(CustomerTag.external_userid.in_(mine))
    rows = await session.execute(
        query.group_by(Tag.name).order_by(func.count(CustomerTag.id).desc(), Tag.name).limit(5)
    )
    return [(str(name), int(n)) for name, n in rows.all()]


async def compute(
    session: AsyncSession,
    *,
    team: Collection[str] | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Stats:
    """Counts for [start, end); overdue and open escalations are as of now."""
    follows = select(FollowRelation.id)
    mine = response_times.team_customers(team)
    followups = select(Followup.id)
    escalations = select(Escalation.id).where(Escalation.status == "open")
    if team is not None:
        ids = list(team)
        follows = follows.where(FollowRelation.userid.in_(ids))
        followups = followups.where(Followup.userid.in_(ids))
        escalations = escalations.where(Escalation.userid.in_(ids))
    messages = select(Message.id).where(
        Message.direction == "in",
        Message.source.in_(CUSTOMER_SOURCES),
        Message.created_at >= start,
        Message.created_at < end,
    )
    if mine is not None:
        messages = messages.where(Message.external_userid.in_(mine))
    return Stats(
        new_customers=await _count(
            session, follows.where(FollowRelation.added_at >= start, FollowRelation.added_at < end)
        ),
        lost_customers=await _count(
            session,
            follows.where(
                FollowRelation.status.in_(["lost", "deleted"]),
                FollowRelation.ended_at >= start,
                FollowRelation.ended_at < end,
            ),
        ),
        messages_in=await _count(session, messages),
        auto_replied=await _count(session, messages.where(Message.auto_replied.is_(True))),
        followups_done=await _count(
            session, followups.where(Followup.done_at >= start, Followup.done_at < end)
        ),
        followups_overdue=await _count(
            session,
            followups.where(
                Followup.done_at.is_(None), Followup.due_at.is_not(None), Followup.due_at <= now
            ),
        ),
        open_escalations=await _count(session, escalations),
        top_tags=await _top_tags(session, mine if team is not None else None, start, end),
    )
