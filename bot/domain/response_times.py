"""First-response time, the one definition (the console's dashboard and list, and /stats).

A customer *turn* is a wait for a first response: over a customer's kf and chat-archive
messages in time order (a reply at the same instant as a customer message comes after it), it
starts at a customer message that follows a reply (or starts the history) and ends at the
first reply after it: the kf bot's answer, or a rep's reply seen in the archive (which carries
the time WeCom recorded it, not when it was pulled). Further customer messages before that
reply are the same wait. A turn belongs to the period its first message falls in; its wait
counts once it is answered, whenever that is (a turn still waiting is "unanswered"). Rows of
customer_turn (bot/domain/turn_models.py), kept by bot/domain/turns.py.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import FollowRelation
from bot.domain.turn_models import CustomerTurn


@dataclass(frozen=True)
class FirstResponse:
    """The period's answered turns, their median and 90th percentile, and those still open."""

    count: int
    p50: float | None  # seconds
    p90: float | None
    unanswered: int = 0


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn: the customer's first message of it and the first reply to it."""

    external_userid: str
    asked_at: datetime
    replied_at: datetime | None
    wait: float | None  # seconds until the first reply (None: not answered yet)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not values:
        return None
    return values[max(0, math.ceil(share * len(values)) - 1)]


def team_customers(team: Collection[str] | None) -> Select[Any] | None:
    """The customers a team's reps follow, as a subquery (None: everyone's)."""
    if team is None:
        return None
    return select(FollowRelation.external_userid).where(FollowRelation.userid.in_(list(team)))


def _in_period(customers: Any | None, start: datetime, end: datetime) -> Any:
    """Turns asked in [start, end), of the customers a subquery selects (None: everyone's)."""
    cond = and_(CustomerTurn.asked_at >= start, CustomerTurn.asked_at < end)
    if customers is not None:
        cond = and_(cond, CustomerTurn.external_userid.in_(customers))
    return cond


async def waits(
    session: AsyncSession, *, customers: Any | None, start: datetime, end: datetime
) -> list[float | None]:
    """The wait of every turn asked in [start, end) (None: not answered yet)."""
    rows = await session.scalars(select(CustomerTurn.wait).where(
        _in_period(customers, start, end)))  # fmt: skip
    return [None if w is None else float(w) for w in rows]


async def first_response(
    session: AsyncSession, *, customers: Any | None, start: datetime, end: datetime
) -> FirstResponse:
    """p50 / p90 of the turns asked in [start, end) of the customers (None: everyone's)."""
    found = await waits(session, customers=customers, start=start, end=end)
    answered = sorted(w for w in found if w is not None)
    return FirstResponse(len(answered), percentile(answered, 0.5), percentile(answered, 0.9),
                         len(found) - len(answered))  # fmt: skip


async def slowest(
    session: AsyncSession, *, customers: Any | None, start: datetime, end: datetime, limit: int
) -> list[Turn]:
    """The turns asked in [start, end), unanswered first, then the longest waits."""
    rows = await session.execute(
        select(CustomerTurn.external_userid, CustomerTurn.asked_at, CustomerTurn.replied_at,
               CustomerTurn.wait)
        .where(_in_period(customers, start, end))
        .order_by(CustomerTurn.wait.is_(None).desc(), CustomerTurn.wait.desc())
        .limit(limit)
    )  # fmt: skip
    return [Turn(str(e), a, r, None if w is None else float(w)) for e, a, r, w in rows]


def describe(seconds: float | None) -> str:
    """A duration in Chinese: 45 秒, 12 分钟, 1.5 小时."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} 秒"
    if seconds < 3600:
        return f"{seconds / 60:.0f} 分钟"
    return f"{seconds / 3600:.1f} 小时"
