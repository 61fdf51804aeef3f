"""SOP runs: the due-step pass (claimed by a conditional update, as the reminders are), and
the queries and task completion every face uses."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, PermissionDeniedError, UsageError
from bot.core.settings import Settings
from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import SopRule, SopRun
from bot.domain.models import ROLE_ADMIN, Staff
from bot.domain.sop import actions, rules

logger = logging.getLogger(__name__)

PENDING = "pending"
# Due steps carried out per pass; the rest wait for the next pass.
BATCH = 200


def next_open(window: rules.Window, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the window next opens (in UTC), or None while it is open now."""
    local = now.astimezone(tz)
    if window.opens <= local.time() <= window.closes:
        return None
    day = local.date() if local.time() < window.opens else local.date() + timedelta(days=1)
    opening = datetime.combine(day, window.opens, tzinfo=tz)
    return opening.astimezone(now.tzinfo)


async def defer_closed(
    session: AsyncSession, active: Sequence[SopRule], settings: Settings, now: datetime
) -> int:
    """Move due steps whose send window is closed now to its next opening; how many."""
    tz = ZoneInfo(settings.timezone)
    moved = 0
    for rule in active:
        for index, step in enumerate(rule.steps):
            window = rules.window_of(step)
            opening = next_open(window, now, tz) if window else None
            if opening is None:
                continue
            result = await session.execute(
                update(SopRun)
                .where(SopRun.rule_id == rule.id, SopRun.step == index,
                       SopRun.status == PENDING, SopRun.due_at <= now)  # fmt: skip
                .values(due_at=opening)
                .execution_options(synchronize_session=False)
            )
            moved += int(getattr(result, "rowcount", 0) or 0)
    return moved


async def run_due(
    session: AsyncSession, settings: Settings, active: Sequence[SopRule], now: datetime
) -> int:
    """Claim due steps of active rules and carry them out; how many were claimed.

    Claimed by one conditional UPDATE (pending -> done) whose RETURNING gives the rows this
    worker won: two workers on one SQLite file or on PostgreSQL never both take a step.
    """
    by_id = {r.id: r for r in active}
    if not by_id:
        return 0
    due = (SopRun.status == PENDING, SopRun.due_at <= now, SopRun.rule_id.in_(list(by_id)))
    picked = select(SopRun.id).where(*due).order_by(SopRun.due_at, SopRun.id).limit(BATCH)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    claimed = list(
        await session.scalars(
            update(SopRun)
            .where(SopRun.id.in_(picked.scalar_subquery()), *due)
            .values(status=actions.DONE, done_at=now)
            .returning(SopRun)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return 0
    known = await actions.prefetch(session, claimed)
    with session.no_autoflush:  # the claimed rows' new statuses go out in one flush below
        for run in sorted(claimed, key=lambda r: (r.due_at, r.id)):
            await actions.run_step(session, settings, by_id[run.rule_id], run, known, now=now)
    await session.flush()
    logger.info("sop steps run: %d", len(claimed))
    return len(claimed)


async def runs_of_customer(
    session: AsyncSession, external_userid: str, *, limit: int = 50
) -> list[SopRun]:
    """The customer's SOP steps, newest due first."""
    rows = await session.scalars(
        select(SopRun).where(SopRun.external_userid == external_userid)
        .order_by(SopRun.due_at.desc(), SopRun.id.desc()).limit(limit)
    )  # fmt: skip
    return list(rows)


async def runs_of_rule(
    session: AsyncSession, rule_id: str, *, status: str | None = None, limit: int = 50,
    offset: int = 0,
) -> list[SopRun]:  # fmt: skip
    """A rule's steps (optionally of one status), newest due first."""
    query = select(SopRun).where(SopRun.rule_id == rule_id)
    if status:
        query = query.where(SopRun.status == status)
    rows = await session.scalars(
        query.order_by(SopRun.due_at.desc(), SopRun.id.desc()).limit(limit).offset(offset)
    )
    return list(rows)


async def tasks_of(
    session: AsyncSession, userid: str, *, external_userid: str | None = None, limit: int = 20
) -> list[SopRun]:
    """Rep tasks waiting for userid's one-tap send, oldest first."""
    query = select(SopRun).where(SopRun.userid == userid, SopRun.status == actions.TASK)
    if external_userid is not None:
        query = query.where(SopRun.external_userid == external_userid)
    rows = await session.scalars(query.order_by(SopRun.due_at, SopRun.id).limit(limit))
    return list(rows)


async def complete_task(
    session: AsyncSession, viewer: Staff, run_id: int, *, now: datetime
) -> SopRun:
    """The rep sent a task's content: the task is done (its owner, their supervisor, admin)."""
    run = await session.get(SopRun, run_id)
    if run is None:
        raise NotFoundError(f"没有编号为 {run_id} 的 SOP 任务")
    if run.userid != viewer.userid and viewer.role != ROLE_ADMIN:
        team = await staff_service.team_userids(session, viewer)
        if team is not None and run.userid not in team:
            raise PermissionDeniedError("这不是你的 SOP 任务")
    result = await session.execute(
        update(SopRun).where(SopRun.id == run_id, SopRun.status == actions.TASK)
        .values(status=actions.SENT, done_by=viewer.userid, done_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(result, "rowcount", 0) != 1:
        raise UsageError(f"SOP 任务 #{run_id} 已经完成或已跳过")
    await session.refresh(run)
    return run


@dataclass(frozen=True)
class Completion:
    """A rep's SOP tasks: sent by the rep, and issued in all."""

    userid: str
    sent: int
    issued: int

    @property
    def rate(self) -> float | None:
        """sent / issued, None when nothing was issued."""
        return round(self.sent / self.issued, 3) if self.issued else None


async def completion_by_rep(
    session: AsyncSession,
    *,
    userids: Collection[str] | None = None,
    since: datetime | None = None,
    rule_id: str | None = None,
) -> list[Completion]:
    """Each rep's task completion (tasks issued since `since`), best first."""
    sent = func.sum(case((SopRun.status == actions.SENT, 1), else_=0))
    query = select(SopRun.userid, sent, func.count()).where(
        SopRun.status.in_((actions.TASK, actions.SENT))
    )
    if userids is not None:
        query = query.where(SopRun.userid.in_(list(userids)))
    if since is not None:
        query = query.where(SopRun.due_at >= since)
    if rule_id is not None:
        query = query.where(SopRun.rule_id == rule_id)
    rows = (await session.execute(query.group_by(SopRun.userid))).all()
    out = [Completion(u, int(s or 0), int(n)) for u, s, n in rows]
    return sorted(out, key=lambda c: (-(c.rate or 0), c.userid))
