"""The 公海 pool: customers enter by rule or by a supervisor; reps claim them (a daily limit
per rep), supervisors assign them; each take moves the customer in WeCom.

A take is checked locally (open entry, daily limit, WeCom's move limits), then the transfer is
asked of WeCom with no transaction open, and only an accepted transfer is recorded: a refusal
or a limit changes nothing here and comes back as a clear Chinese message (the attempt and its
reason go to the audit log). WeCom's own limits, kept here so a refusal is explained before it
happens: at most 2 moves per customer per 90 days, and a customer in transfer has 24 h to
refuse, during which no other move may start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import NotFoundError, UsageError, WeComError
from bot.core.settings import Settings
from bot.domain import audit, customers, transfer
from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import CustomerMove, PoolEntry
from bot.domain.models import Customer, Staff
from bot.wecom.client import WeComClient

logger = logging.getLogger(__name__)

OPEN, CLAIMED, ASSIGNED = "open", "claimed", "assigned"
STARTED, FAILED = "started", "failed"
MOVE_WINDOW = timedelta(days=90)
MOVES_PER_WINDOW = 2
TAKEOVER = timedelta(hours=24)


async def enter(
    session: AsyncSession,
    external_userid: str,
    *,
    by_kind: str,
    by: str,
    reason: str = "",
    now: datetime,
) -> PoolEntry | None:
    """Put the customer in the pool (None when already there)."""
    if await open_entry(session, external_userid) is not None:
        return None
    entry = PoolEntry(
        external_userid=external_userid,
        from_userid=await customers.rep_of(session, external_userid) or "",
        reason=reason[:255], entered_by_kind=by_kind, entered_by=by, entered_at=now,
    )  # fmt: skip
    session.add(entry)
    await session.flush()
    logger.info("pool enter customer=%s by=%s/%s", external_userid, by_kind, by)
    return entry


async def enter_all_of(
    session: AsyncSession, userid: str, *, by_kind: str, by: str, reason: str, now: datetime
) -> int:
    """Put every active customer of a member in the pool (departure); how many entered."""
    count = 0
    for euid in await transfer.customers_of(session, userid):
        count += await enter(session, euid, by_kind=by_kind, by=by, reason=reason,
                             now=now) is not None  # fmt: skip
    return count


async def open_entry(session: AsyncSession, external_userid: str) -> PoolEntry | None:
    """The customer's open pool entry, if any."""
    return await session.scalar(
        select(PoolEntry).where(
            PoolEntry.external_userid == external_userid, PoolEntry.status == OPEN
        )
    )


@dataclass(frozen=True)
class Listed:
    """One open pool entry with the customer's name."""

    entry: PoolEntry
    name: str


async def list_open(session: AsyncSession, *, limit: int = 20, offset: int = 0) -> list[Listed]:
    """Open entries, oldest first."""
    rows = await session.execute(
        select(PoolEntry, Customer.name)
        .join(Customer, Customer.external_userid == PoolEntry.external_userid)
        .where(PoolEntry.status == OPEN)
        .order_by(PoolEntry.entered_at, PoolEntry.id)
        .limit(limit)
        .offset(offset)
    )
    return [Listed(entry, name or entry.external_userid) for entry, name in rows.all()]


async def count_open(session: AsyncSession) -> int:
    """How many customers wait in the pool."""
    return int(
        await session.scalar(select(func.count()).where(PoolEntry.status == OPEN)) or 0
    )


async def claims_today(
    session: AsyncSession, settings: Settings, userid: str, now: datetime
) -> int:
    """Claims userid made since the corp's local midnight."""
    tz = ZoneInfo(settings.timezone)
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(
        await session.scalar(
            select(func.count()).where(
                CustomerMove.kind == "claim", CustomerMove.to_userid == userid,
                CustomerMove.status == STARTED, CustomerMove.at >= midnight,
            )  # fmt: skip
        )
        or 0
    )


async def check_moves(session: AsyncSession, external_userid: str, now: datetime) -> None:
    """UsageError when WeCom's move limits forbid moving the customer now."""
    moves = list(
        await session.scalars(
            select(CustomerMove.at).where(
                CustomerMove.external_userid == external_userid,
                CustomerMove.status == STARTED, CustomerMove.at >= now - MOVE_WINDOW,
            )  # fmt: skip
        )
    )
    recent = [at for at in moves if at > now - TAKEOVER]
    if recent:
        left = max(recent) + TAKEOVER - now
        hours = max(1, int(left.total_seconds() // 3600))
        raise UsageError(f"该客户正在转接中（客户有 24 小时可以拒绝），约 {hours} 小时后再试")
    if len(moves) >= MOVES_PER_WINDOW:
        raise UsageError("企业微信限制：每位客户 90 天内最多转接 2 次，这位客户已达上限")


@dataclass(frozen=True)
class Take:
    """A checked take, before WeCom is asked."""

    entry_id: int
    external_userid: str
    name: str
    from_userid: str
    from_active: bool
    to_userid: str
    kind: str


async def check_take(
    session: AsyncSession,
    settings: Settings,
    *,
    external_userid: str,
    taker: Staff,
    kind: str,
    now: datetime,
) -> Take:
    """Everything that can refuse a claim or an assignment without asking WeCom."""
    entry = await open_entry(session, external_userid)
    customer = await session.get(Customer, external_userid)
    name = (customer.name if customer else "") or external_userid
    if entry is None:
        raise NotFoundError(f"客户 {name} 不在公海里")
    if not taker.active:
        raise UsageError(f"{staff_service.label_of(taker, taker.userid)} 已停用或已离职")
    if entry.from_userid == taker.userid:
        raise UsageError(f"客户 {name} 本来就是 {staff_service.label_of(taker, taker.userid)} 的")
    if kind == "claim":
        done = await claims_today(session, settings, taker.userid, now)
        if done >= settings.pool_daily_claims:
            raise UsageError(
                f"今天已领取 {done} 位客户，达到每日上限 {settings.pool_daily_claims} 位，"
                "明天再来吧"
            )
    await check_moves(session, external_userid, now)
    handover = await session.get(Staff, entry.from_userid) if entry.from_userid else None
    return Take(entry.id, external_userid, name, entry.from_userid,
                handover.active if handover else True, taker.userid, kind)  # fmt: skip


async def ask_wecom(wecom: WeComClient, take: Take) -> None:
    """The transfer itself (no transaction open); UsageError with WeCom's reason on refusal."""
    if not take.from_userid:
        return  # no rep in WeCom to move from: the taker simply becomes the owner here
    try:
        if take.from_active:
            data = await wecom.transfer_customer(take.from_userid, take.to_userid,
                                                 [take.external_userid])  # fmt: skip
        else:
            data = await wecom.resigned_transfer_customer(take.from_userid, take.to_userid,
                                                          [take.external_userid])  # fmt: skip
    except WeComError as exc:
        raise UsageError(f"企业微信拒绝了转接：{transfer.describe_errcode(exc.errcode)}",
                         chat_hint=transfer.CHAT_HINTS.get(exc.errcode, "")) from exc
    for item in data.get("customer") or []:
        code = int(item.get("errcode") or 0)
        if code:
            why = transfer.describe_errcode(code, on_job=take.from_active)
            raise UsageError(f"企业微信拒绝了转接：{why}",
                             chat_hint=transfer.CHAT_HINTS.get(code, ""))


async def record_take(session: AsyncSession, take: Take, *, by: str, now: datetime) -> bool:
    """The accepted take: the entry closes, the move is kept; False if someone was first."""
    status = CLAIMED if take.kind == "claim" else ASSIGNED
    result = await session.execute(
        update(PoolEntry)
        .where(PoolEntry.id == take.entry_id, PoolEntry.status == OPEN)
        .values(status=status, taken_by=take.to_userid, taken_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    session.add(CustomerMove(
        external_userid=take.external_userid, from_userid=take.from_userid,
        to_userid=take.to_userid, kind=take.kind, status=STARTED, by=by, at=now,
    ))  # fmt: skip
    await audit.record(session, actor=by, action=f"pool_{take.kind}", target=take.external_userid,
                       detail={"from": take.from_userid, "to": take.to_userid})  # fmt: skip
    await session.flush()
    return True


async def take(
    db: async_sessionmaker[AsyncSession],
    wecom: WeComClient,
    settings: Settings,
    *,
    external_userid: str,
    taker: Staff,
    by: str,
    kind: str,
    now: datetime,
) -> Take:
    """Claim (kind "claim", the taker's own) or assign (kind "assign", by a supervisor) a
    pooled customer: check, ask WeCom, record. UsageError / NotFoundError change nothing."""
    async with db() as session:
        checked = await check_take(session, settings, external_userid=external_userid,
                                   taker=taker, kind=kind, now=now)  # fmt: skip
    try:
        await ask_wecom(wecom, checked)
    except UsageError as exc:
        async with db.begin() as session:
            await audit.record(session, actor=by, action=f"pool_{kind}", target=external_userid,
                               detail={"to": taker.userid, "reason": exc.message},
                               result="failed")  # fmt: skip
        raise
    async with db.begin() as session:
        if not await record_take(session, checked, by=by, now=now):
            raise UsageError(f"客户 {checked.name} 刚被别人领走了")
    logger.info("pool %s customer=%s to=%s", kind, external_userid, taker.userid)
    return checked


async def move_failed(
    session: AsyncSession, external_userid: str, takeover: str, reason: str
) -> None:
    """WeCom says a started move did not complete (transfer_fail): the move is marked failed
    with its reason, and a pool take goes back to the pool."""
    move = await session.scalar(
        select(CustomerMove)
        .where(CustomerMove.external_userid == external_userid,
               CustomerMove.to_userid == takeover, CustomerMove.status == STARTED)  # fmt: skip
        .order_by(CustomerMove.at.desc(), CustomerMove.id.desc())
        .limit(1)
    )
    if move is None:
        return
    move.status, move.reason = FAILED, reason
    await session.execute(
        update(PoolEntry)
        .where(PoolEntry.external_userid == external_userid, PoolEntry.taken_by == takeover,
               PoolEntry.status.in_((CLAIMED, ASSIGNED)))  # fmt: skip
        .values(status=OPEN, taken_by="", taken_at=None)
    )
    await session.flush()


async def moves_of(
    session: AsyncSession, external_userid: str, limit: int = 50
) -> list[CustomerMove]:
    """The customer's moves, newest first."""
    rows = await session.scalars(
        select(CustomerMove).where(CustomerMove.external_userid == external_userid)
        .order_by(CustomerMove.at.desc(), CustomerMove.id.desc()).limit(limit)
    )  # fmt: skip
    return list(rows)
