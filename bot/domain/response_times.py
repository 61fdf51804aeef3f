"""First-response time: from a customer's message to the next reply by a person or the bot.

A wait starts at the first customer message (kf or the chat archive) with no reply after it
and ends at the customer's next outbound message: the kf bot's answer, or a rep's reply seen
in the archive (which carries the time WeCom recorded it, not when it was pulled).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import FollowRelation, Message
from bot.domain.stats import CUSTOMER_SOURCES


@dataclass(frozen=True)
class FirstResponse:
    """Answered waits that ended in the period, and their median and 90th percentile."""

    count: int
    p50: float | None  # seconds
    p90: float | None


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not values:
        return None
    return values[max(0, math.ceil(share * len(values)) - 1)]


async def first_response(
    session: AsyncSession, *, team: Collection[str] | None, start: datetime, end: datetime
) -> FirstResponse:
    """Waits answered in [start, end) of the team's customers (team None: everyone's)."""
    query = (
        select(Message.external_userid, Message.direction, Message.created_at)
        .where(
            Message.created_at >= start, Message.created_at < end,
            or_(and_(Message.direction == "in", Message.source.in_(CUSTOMER_SOURCES)),
                Message.direction == "out"),
        )  # fmt: skip
        .order_by(Message.external_userid, Message.created_at, Message.id)
    )
    if team is not None:
        mine = select(FollowRelation.external_userid).where(FollowRelation.userid.in_(list(team)))
        query = query.where(Message.external_userid.in_(mine))
    waiting: dict[str, datetime] = {}
    waits: list[float] = []
    for euid, direction, at in await session.execute(query):
        if direction == "in":
            waiting.setdefault(euid, at)
        elif euid in waiting:
            waits.append(max(0.0, (at - waiting.pop(euid)).total_seconds()))
    waits.sort()
    return FirstResponse(len(waits), percentile(waits, 0.5), percentile(waits, 0.9))


def describe(seconds: float | None) -> str:
    """A duration in Chinese: 45 秒, 12 分钟, 1.5 小时."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} 秒"
    if seconds < 3600:
        return f"{seconds / 60:.0f} 分钟"
    return f"{seconds / 3600:.1f} 小时"
