"""The 微信客服 handover queue: conversations the bot handed to people, who holds them, and
claiming or assigning them (kf/service_state/trans to state 3, through the outbox).

A handover row is opened when the bot hands a conversation over (handlers/kf records its
kf.trans effect in the same transaction), becomes held when a person has it (a claim or
assignment here, the bot's own routing, or WeCom's session_status_change), and ends when
WeCom says the session ended. Its `effect_id` is the latest effect that moves it, so the
page can say whether WeCom has done it yet.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain.models import Customer, Message, Staff
from bot.domain.ops_models import KfHandover
from bot.outbox import effects
from bot.outbox.model import DONE, PARKED, Effect

logger = logging.getLogger(__name__)

WAITING, HELD, ENDED = "waiting", "held", "ended"
OPEN = (WAITING, HELD)
# session_status_change change_type (wecom-reference §5.2): 1 taken from the queue,
# 2 moved to another servicer, 3 ended, 4 taken up again by a servicer.
_TAKEN_TYPES = {1, 2, 4}
_ENDED_TYPE = 3
LIST_MAX = 500


def conversation_group(open_kfid: str, external_userid: str) -> str:
    """The outbox group of one kf conversation (the same as the kf flow's own effects)."""
    return f"kf:{open_kfid}:{external_userid}"


async def _open_row(session: AsyncSession, open_kfid: str, euid: str) -> KfHandover | None:
    return await session.scalar(
        select(KfHandover)
        .where(KfHandover.open_kfid == open_kfid, KfHandover.external_userid == euid,
               KfHandover.status.in_(OPEN))
        .order_by(KfHandover.id.desc())
        .limit(1)
    )  # fmt: skip


async def record_handover(
    session: AsyncSession, *, open_kfid: str, external_userid: str, message_id: int | None,
    reason: str, effect_id: int | None, now: datetime,
) -> KfHandover:  # fmt: skip
    """Open a handover (in the transaction recording its kf.trans effect).

    The bot hands over only while it has the conversation, so an older open row belongs to a
    session that ended without our hearing of it: it is closed first.
    """
    old = await _open_row(session, open_kfid, external_userid)
    if old is not None:
        old.status, old.ended_at = ENDED, now
    row = KfHandover(
        open_kfid=open_kfid, external_userid=external_userid, message_id=message_id,
        reason=reason[:128], status=WAITING, requested_at=now, effect_id=effect_id,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def on_status_change(session: AsyncSession, event: Mapping[str, Any], now: datetime) -> None:
    """kf's session_status_change: a servicer took it, it moved, or it ended."""
    kfid, euid = str(event.get("open_kfid") or ""), str(event.get("external_userid") or "")
    try:
        change = int(event.get("change_type") or 0)
    except (TypeError, ValueError):
        return
    row = await _open_row(session, kfid, euid)
    if row is None:
        return
    if change == _ENDED_TYPE:
        row.status, row.ended_at = ENDED, now
    elif change in _TAKEN_TYPES and event.get("new_servicer_userid"):
        row.status, row.servicer_userid = HELD, str(event["new_servicer_userid"])
        row.taken_at = row.taken_at or now
    await session.flush()


async def assign(
    session: AsyncSession, handover_id: int, *, servicer: str, by: str, now: datetime,
    notice: str = "",
) -> KfHandover:  # fmt: skip
    """Give a conversation to a servicer: the row at once, WeCom through kf.assign."""
    row = await session.get(KfHandover, handover_id, with_for_update=True)
    if row is None or row.status == ENDED:
        raise NotFoundError("这个会话已结束或不存在，请刷新")
    staff = await session.get(Staff, servicer)
    if staff is None or not staff.active:
        raise UsageError("这位成员不存在或已停用")
    if row.status == HELD and row.servicer_userid == servicer:
        raise UsageError(f"{staff.name or servicer} 已在接待这位客户")
    payload = {"open_kfid": row.open_kfid, "external_userid": row.external_userid,
               "servicer": servicer, "notice": notice}  # fmt: skip
    row.effect_id = await effects.add(
        session, "kf.assign", payload,
        group=conversation_group(row.open_kfid, row.external_userid),
    )  # fmt: skip
    row.status, row.servicer_userid, row.assigned_by = HELD, servicer, by
    row.taken_at = now
    await session.flush()
    logger.info("kf handover %s assigned to %s by %s", row.id, servicer, by)
    return row


@dataclass(frozen=True)
class QueueItem:
    """One open handover as the queue page shows it."""

    id: int
    open_kfid: str
    external_userid: str
    customer: str
    question: str
    reason: str
    status: str  # waiting | moving | held | assigning | failed
    servicer: str
    assigned_by: str
    requested_at: datetime
    taken_at: datetime | None
    error: str = ""


def _status(row: KfHandover, effect: Effect | None) -> tuple[str, str, str]:
    """(status, servicer, error) from the row and the effect that moves it."""
    servicer = row.servicer_userid
    if effect is None:
        return (row.status, servicer, "")
    if effect.status == PARKED:
        return ("failed", servicer, f"企业微信拒绝（{effect.last_errcode}）")
    if effect.status != DONE:
        return ("assigning" if effect.kind == "kf.assign" else "moving", servicer, "")
    if effect.outcome == "ended":
        return (ENDED, servicer, "")  # the customer left before the assignment
    if effect.kind == "kf.trans" and row.status == WAITING:
        picked = str(effect.payload.get("servicer") or "")
        if effect.outcome == "servicer" and picked:
            return (HELD, picked, "")
    return (row.status, servicer, "")


async def open_items(session: AsyncSession, reps: Collection[str] | None) -> list[QueueItem]:
    """Open handovers, longest waiting first; reps: show held ones only of these members
    (waiting ones are everyone's to take)."""
    rows = list(await session.scalars(
        select(KfHandover).where(KfHandover.status.in_(OPEN))
        .order_by(KfHandover.requested_at, KfHandover.id).limit(LIST_MAX)))  # fmt: skip
    effect_ids = [r.effect_id for r in rows if r.effect_id]
    found = {e.id: e for e in await session.scalars(
        select(Effect).where(Effect.id.in_(effect_ids)))} if effect_ids else {}  # fmt: skip
    euids = sorted({r.external_userid for r in rows})
    names = {c.external_userid: c.name for c in await session.scalars(
        select(Customer).where(Customer.external_userid.in_(euids)))} if euids else {}  # fmt: skip
    message_ids = [r.message_id for r in rows if r.message_id]
    texts = {m.id: m.text for m in await session.scalars(
        select(Message).where(Message.id.in_(message_ids)))} if message_ids else {}  # fmt: skip
    out = []
    for row in rows:
        status, servicer, error = _status(row, found.get(row.effect_id or 0))
        if status == ENDED:
            continue
        if reps is not None and servicer and status != WAITING and servicer not in reps:
            continue  # another department's servicer has it
        out.append(QueueItem(
            id=row.id, open_kfid=row.open_kfid, external_userid=row.external_userid,
            customer=names.get(row.external_userid) or row.external_userid,
            question=texts.get(row.message_id or 0, ""), reason=row.reason, status=status,
            servicer=servicer, assigned_by=row.assigned_by, requested_at=row.requested_at,
            taken_at=row.taken_at, error=error,
        ))  # fmt: skip
    return out


async def visible(session: AsyncSession, handover_id: int, reps: Collection[str] | None) -> bool:
    """Whether a viewer with this scope may act on the handover."""
    items = await open_items(session, reps)
    return any(i.id == handover_id for i in items)


def servicer_filter(reps: Collection[str] | None) -> Any:
    """Active members a viewer may assign to (all for admins)."""
    query = select(Staff).where(Staff.active.is_(True))
    if reps is not None:
        query = query.where(Staff.userid.in_(sorted(reps)))
    return query.order_by(Staff.userid)
