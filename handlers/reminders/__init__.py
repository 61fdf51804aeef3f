"""Durable reminders: due follow-ups, and escalations nobody was alerted about.

A follow-up is reminded when `reminded_at` is set; that mark and the reminder's app message
(an outbox effect) commit together, so a crash leaves both or neither, and the outbox then
delivers the message at least once (WeCom drops a resend within 4 h). Rows are taken with
FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one writer), so two workers never remind
the same follow-up. The loop ticks at start-up too: reminders that fell due during downtime
go out once.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.keys import CLOCK, DB, SETTINGS
from bot.core.settings import Settings
from bot.core.tasks import periodic_ctx
from bot.domain import customers, notify, timeparse
from bot.domain.models import Escalation, Followup
from bot.outbox import effects

logger = logging.getLogger(__name__)

# Rows handled per tick and kind; the rest wait for the next tick.
BATCH = 100
# textcard description limit is 512 bytes; keep the note well inside it.
NOTE_MAX = 120


async def tick(app: web.Application, now: datetime | None = None) -> tuple[int, int]:
    """One pass: (follow-up reminders recorded, escalation alerts recorded)."""
    now = now or app[CLOCK].now()
    async with app[DB].begin() as session:
        reminders = await remind_due(session, app[SETTINGS], now)
    async with app[DB].begin() as session:
        alerts = await alert_unnotified(session, app[SETTINGS], now)
    return reminders, alerts


async def remind_due(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Mark due follow-ups reminded and record their reminders; returns how many."""
    due = (
        Followup.done_at.is_(None),
        Followup.reminded_at.is_(None),
        Followup.due_at.is_not(None),
        Followup.due_at <= now,
    )
    picked = select(Followup.id).where(*due).order_by(Followup.due_at, Followup.id).limit(BATCH)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    # Claimed by a conditional update, not read then set: on SQLite two workers can read the
    # same due row before either writes, and only the one whose update finds it unset counts.
    claimed = await session.scalars(
        update(Followup)
        .where(Followup.id.in_(picked.scalar_subquery()), *due)
        .values(reminded_at=now)
        .returning(Followup)
        .execution_options(synchronize_session=False)
    )
    count = 0
    for followup in sorted(claimed, key=lambda f: f.id):
        name = await customers.customer_label(session, followup.external_userid)
        payload = reminder_payload(settings, followup, name, now)
        await effects.add(session, "message", payload, key=f"reminder:{followup.id}")
        count += 1
    if count:
        logger.info("reminders recorded: %d", count)
    return count


def reminder_payload(
    settings: Settings, followup: Followup, name: str, now: datetime
) -> dict[str, object]:
    """A textcard linking to the sidebar (plain text when no public URL is configured)."""
    due = ""
    if followup.due_at is not None:
        due = timeparse.describe(followup.due_at, now=now, tz=ZoneInfo(settings.timezone))
    note = followup.note if len(followup.note) <= NOTE_MAX else followup.note[:NOTE_MAX] + "…"
    title = f"跟进提醒 #{followup.id}"
    done = f"完成后发 /done {followup.id}"
    if not settings.public_url:
        text = f"【{title}】{due}\n客户：{name}\n{note}\n{done}"
        return {"touser": followup.userid, "msgtype": "text", "body": {"content": text},
                "dedup": True}  # fmt: skip
    url = f"{settings.public_url.rstrip('/')}/sidebar/?customer={quote(followup.external_userid)}"
    description = "".join(
        [
            f'<div class="gray">{html.escape(due)}</div>',
            f'<div class="normal">客户：{html.escape(name)}</div>',
            f'<div class="highlight">{html.escape(note)}</div>',
            f'<div class="gray">{done}</div>',
        ]
    )
    card = {"title": title, "description": description, "url": url, "btntxt": "详情"}
    return {"touser": followup.userid, "msgtype": "textcard", "body": card, "dedup": True}


async def alert_unnotified(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Record alerts for open escalations nobody was told about (rows from before the outbox,
    or any path that opened one without alerting); returns how many."""
    query = (
        select(Escalation)
        .where(Escalation.notified_at.is_(None), Escalation.status == "open")
        .order_by(Escalation.id)
        .limit(BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    for escalation in rows:
        await notify.notify_escalation(session, settings, escalation, now=now)
    return len(rows)


# Tick at start-up (catch up after downtime), then every scheduler_interval seconds.
scheduler_ctx = periodic_ctx("scheduler tick", tick, lambda app: app[SETTINGS].scheduler_interval)
