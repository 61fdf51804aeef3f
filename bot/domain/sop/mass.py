"""企业群发 steps after delivery: WeCom queues the message in the rep's 群发助手, and nothing
reaches the customer until the rep confirms it. A step that sent one waits in status `mass`
until WeCom's send result says what happened (read by the scheduler, outside transactions);
then it is done, with a note a supervisor can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lifecycle_models import SopRun
from bot.domain.sop.actions import DONE, MASS
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


async def awaiting(session: AsyncSession, *, after_id: int, limit: int) -> list[Awaiting]:
    """Steps in status `mass` with id > after_id, in id order, with their effect's state."""
    runs = await session.scalars(
        select(SopRun).where(SopRun.status == MASS, SopRun.id > after_id)
        .order_by(SopRun.id).limit(limit)
    )  # fmt: skip
    out: list[Awaiting] = []
    for run in runs.all():
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
    """Close a waiting step with its note, once (a conditional update: two workers agree)."""
    result = await session.execute(
        update(SopRun).where(SopRun.id == run_id, SopRun.status == MASS)
        .values(status=DONE, note=note[:1000], done_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return bool(result.rowcount)  # type: ignore[attr-defined]
