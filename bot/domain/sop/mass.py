"""企业群发 steps after delivery: WeCom queues the message in the rep's 群发助手, and nothing
reaches the customer until the rep confirms it. A step that sent one waits (status `mass`, or
`task` when a rep task came with it) until WeCom's send result says what happened; then its
mass_note, and a `mass` step's status and note, say so in words a supervisor can act on.

The read is claimed: a worker moves the step's mass_check_at on by one interval in a short
transaction, commits, then asks WeCom outside any transaction. Another worker's claim in the
same interval finds nothing, so WeCom is asked once per step per interval whatever the number
of workers; a worker that dies between its claim and its read leaves the step to the first
claim after the interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import UTCDateTime
from bot.domain.lifecycle_models import SopRun
from bot.domain.sop.actions import DONE, MASS, MASS_CHECK_EVERY, TASK
from bot.domain.sop.actions import SENT as TASK_SENT
from bot.outbox.model import Effect

# After this long unconfirmed, the step is closed as not sent (the rep can still send it from
# the 群发助手; WeCom's own expiry of such tasks is not documented in our reference).
CONFIRM_DAYS = 3
SENT = 1
NOTES = {
    SENT: "企业群发已送达",
    2: "企业群发未送达：客户已不是该员工的好友",
    3: "企业群发未送达：客户已收到其他企业群发",
}


@dataclass(frozen=True)
class Awaiting:
    """A step whose 企业群发 waits for the rep's confirmation."""

    run_id: int
    sender: str
    external_userid: str
    due_at: datetime
    msgid: str | None  # None: not delivered to WeCom yet
    refused: bool  # WeCom refused the task (the customer is not the rep's contact)


async def claim(session: AsyncSession, *, now: datetime, limit: int) -> list[SopRun]:
    """Take up to `limit` waiting steps whose read is due, longest unread first (round robin),
    moving each one's next read MASS_CHECK_EVERY on.

    One conditional UPDATE whose RETURNING gives the rows this worker won (as runs.run_due
    claims due steps): two workers on one SQLite file or on PostgreSQL never both take one.
    The caller commits at once, before reading the effects and asking WeCom.
    """
    due = (SopRun.mass_check_at <= now,)
    picked = select(SopRun.id).where(*due).order_by(SopRun.mass_check_at, SopRun.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    runs = await session.scalars(
        update(SopRun).where(SopRun.id.in_(picked.scalar_subquery()), *due)
        .values(mass_check_at=now + MASS_CHECK_EVERY)
        .returning(SopRun)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return sorted(runs.all(), key=lambda r: r.id)


async def awaiting(session: AsyncSession, runs: list[SopRun]) -> list[Awaiting]:
    """The claimed steps with their 企业群发 effect's state."""
    out: list[Awaiting] = []
    for run in runs:
        effect = await _effect(session, run)
        done = effect if effect is not None and effect.status == "done" else None
        out.append(Awaiting(
            run.id, run.userid, run.external_userid, run.due_at,
            msgid=str(done.result.get("msgid") or "") or None if done else None,
            refused=done is not None and done.outcome != "sent",
        ))  # fmt: skip
    return out


async def _effect(session: AsyncSession, run: SopRun) -> Effect | None:
    """The step's 企业群发 effect (key sop:{run}:{action index}), found from the run alone: the
    rule's steps may have been edited since (an index now naming another step or none)."""
    prefix = f"sop:{run.id}:"
    found = await session.scalars(
        select(Effect).where(Effect.group_key == f"sop:{run.external_userid}",
                             Effect.kind == "mass_msg").order_by(Effect.id)
    )  # fmt: skip
    return next((e for e in found if (e.key or "").startswith(prefix)), None)


def outcome(item: Awaiting, status: int | None, now: datetime) -> str | None:
    """The step's closing note for WeCom's status (None: not asked yet), or None to wait."""
    if item.refused:
        return "企业群发未提交：客户不在该员工的好友中"
    if status in NOTES:
        return NOTES[status]
    if now - item.due_at > timedelta(days=CONFIRM_DAYS):
        return f"员工 {CONFIRM_DAYS} 天内未确认企业群发，未送达"
    return None


async def close(session: AsyncSession, run_id: int, note: str, *, now: datetime) -> bool:
    """Record a waiting step's 群发 result, once (a conditional update: two workers agree): a
    `mass` step is done with it as its note; a task keeps its status and text."""
    is_mass = SopRun.status == MASS
    result = await session.execute(
        update(SopRun).where(SopRun.id == run_id, SopRun.mass_check_at.is_not(None))
        .values(status=case((is_mass, DONE), else_=SopRun.status),
                note=case((is_mass, note[:1000]), else_=SopRun.note),
                done_at=case((is_mass, literal(now, UTCDateTime)), else_=SopRun.done_at),
                mass_note=note[:255], mass_check_at=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return bool(result.rowcount)  # type: ignore[attr-defined]


def with_mass(label: str, run: SopRun) -> str:
    """A step's status label and, for a rep task that came with a 企业群发, the 群发's state
    (a `mass` step's own status and note already say it)."""
    if run.mass_note and run.status in (TASK, TASK_SENT):
        return f"{label}；{run.mass_note}"
    return label
