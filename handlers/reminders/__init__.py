"""Durable reminders: due follow-ups and unsent escalation alerts, fired once across workers.

State lives in the database: a follow-up is reminded when `reminded_at` is set, an escalation
alerted when `notified_at` is. Each worker claims a row with a conditional UPDATE
(`... WHERE reminded_at IS NULL`) committed before sending, so exactly one worker wins it;
the loop ticks at start-up too, so reminders that fell due during downtime go out once.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import utcnow
from bot.core.errors import WeComError
from bot.core.keys import DB, SETTINGS, WECOM
from bot.core.settings import Settings
from bot.core.tasks import periodic_ctx
from bot.domain import notify, timeparse
from bot.domain.models import Customer, Escalation, Followup
from bot.wecom.client import BUSY_ERRCODES, NETWORK_ERRCODE, WeComClient

logger = logging.getLogger(__name__)

# Rows handled per tick and kind; the rest wait for the next tick.
BATCH = 100
# Failures worth another try next tick; anything else (bad userid, no permission) is final.
TRANSIENT = BUSY_ERRCODES | {NETWORK_ERRCODE}
# textcard description limit is 512 bytes; keep the note well inside it.
NOTE_MAX = 120


async def tick(app: web.Application, now: datetime | None = None) -> tuple[int, int]:
    """One pass: (follow-up reminders sent, escalation alerts sent)."""
    now = now or utcnow()
    sm, wecom, settings = app[DB], app[WECOM], app[SETTINGS]
    reminders = await remind_due(sm, wecom, settings, now)
    alerts = await alert_pending(sm, wecom, settings)
    return reminders, alerts


async def remind_due(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient, settings: Settings, now: datetime
) -> int:
    """Remind the owners of follow-ups that are due and not yet reminded; returns how many."""
    async with sm() as session:
        ids = list(
            await session.scalars(
                select(Followup.id)
                .where(
                    Followup.done_at.is_(None),
                    Followup.reminded_at.is_(None),
                    Followup.due_at.is_not(None),
                    Followup.due_at <= now,
                )
                .order_by(Followup.due_at, Followup.id)
                .limit(BATCH)
            )
        )
    sent = 0
    for followup_id in ids:
        if not await _claim_followup(sm, followup_id, now):
            continue  # another worker took it
        if await _send_reminder(sm, wecom, settings, followup_id, now):
            sent += 1
    return sent


async def _claim_followup(
    sm: async_sessionmaker[AsyncSession], followup_id: int, now: datetime
) -> bool:
    async with sm.begin() as session:
        result = await session.execute(
            update(Followup)
            .where(
                Followup.id == followup_id,
                Followup.reminded_at.is_(None),
                Followup.done_at.is_(None),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


async def _send_reminder(
    sm: async_sessionmaker[AsyncSession],
    wecom: WeComClient,
    settings: Settings,
    followup_id: int,
    now: datetime,
) -> bool:
    async with sm() as session:
        followup = await session.get(Followup, followup_id)
        assert followup is not None
        customer = await session.get(Customer, followup.external_userid)
    name = (customer.name if customer else "") or followup.external_userid
    try:
        await send_reminder(wecom, settings, followup, name, now)
    except WeComError as exc:
        logger.error("reminder failed followup=%s errcode=%s", followup_id, exc.errcode)
        if exc.errcode in TRANSIENT:
            await _unclaim_followup(sm, followup_id, now)
        return False
    logger.info("reminder sent followup=%s to=%s", followup_id, followup.userid)
    return True


async def send_reminder(
    wecom: WeComClient, settings: Settings, followup: Followup, name: str, now: datetime
) -> None:
    """A textcard linking to the sidebar (plain text when no public URL is configured)."""
    due = ""
    if followup.due_at is not None:
        due = timeparse.describe(followup.due_at, now=now, tz=ZoneInfo(settings.timezone))
    note = followup.note if len(followup.note) <= NOTE_MAX else followup.note[:NOTE_MAX] + "…"
    title = f"跟进提醒 #{followup.id}"
    done = f"完成后发 /done {followup.id}"
    if not settings.public_url:
        await wecom.send_text(followup.userid, f"【{title}】{due}\n客户：{name}\n{note}\n{done}")
        return
    url = f"{settings.public_url.rstrip('/')}/sidebar/?customer={quote(followup.external_userid)}"
    description = "".join(
        [
            f'<div class="gray">{html.escape(due)}</div>',
            f'<div class="normal">客户：{html.escape(name)}</div>',
            f'<div class="highlight">{html.escape(note)}</div>',
            f'<div class="gray">{done}</div>',
        ]
    )
    await wecom.send_textcard(followup.userid, title, description, url)


async def _unclaim_followup(
    sm: async_sessionmaker[AsyncSession], followup_id: int, now: datetime
) -> None:
    """Give a claimed reminder back so the next tick retries it."""
    async with sm.begin() as session:
        await session.execute(
            update(Followup)
            .where(Followup.id == followup_id, Followup.reminded_at == now)
            .values(reminded_at=None)
            .execution_options(synchronize_session=False)
        )


async def alert_pending(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient, settings: Settings
) -> int:
    """Alert supervisors about open escalations nobody has been told about yet."""
    async with sm() as session:
        ids = list(
            await session.scalars(
                select(Escalation.id)
                .where(Escalation.notified_at.is_(None), Escalation.status == "open")
                .order_by(Escalation.id)
                .limit(BATCH)
            )
        )
    sent = 0
    for escalation_id in ids:
        async with sm.begin() as session:
            if not await notify.claim_escalation(session, escalation_id):
                continue
        async with sm() as session:
            escalation = await session.get(Escalation, escalation_id)
            assert escalation is not None
            await notify.deliver_escalation(session, wecom, settings, escalation)
        sent += 1
    return sent


# Tick at start-up (catch up after downtime), then every scheduler_interval seconds.
scheduler_ctx = periodic_ctx("scheduler tick", tick, lambda app: app[SETTINGS].scheduler_interval)
