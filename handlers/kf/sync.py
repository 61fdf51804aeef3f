"""微信客服 (kf): pull with kf/sync_msg, answer from the FAQ, or hand over to a human.

The callback only says "there is news"; `sync` pulls pages from the persisted cursor. Each
customer message is stored, decided and answered (as outbox effects) in one transaction, so a
crash leaves it either untouched or fully handled; the cursor is saved after each page, and
the last save commits with the inbox row's done mark. A crash re-reads at most one page, and
the message's unique key makes the re-read a no-op.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.cache import LockTimeoutError
from bot.core.db import utcnow
from bot.core.errors import WeComError
from bot.core.keys import CACHE, CLOCK, DB, WECOM
from bot.domain import answers, customers, pipeline
from bot.domain.models import KfCursor, Message
from bot.inbound.router import EventContext, RetryLaterError
from handlers.kf import menu, names, reply

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
# A page is at most 1000 messages; this bounds one sync even if has_more never drops.
MAX_PAGES = 50
# One sync per kf account at a time; a crashed holder frees the lock after this.
SYNC_LOCK_HOLD = 120.0
SYNC_LOCK_WAIT = 60.0
ORIGIN_CUSTOMER = 3
ORIGIN_SERVICER = 5  # a person's message from the WeCom client


def sync_lock_key(open_kfid: str) -> str:
    """Cache lock serialising syncs of one kf account across workers."""
    return f"kf:sync-lock:{open_kfid}"


async def load_cursor(session: AsyncSession, open_kfid: str) -> str:
    """The saved cursor of a kf account ("" the first time)."""
    row = await session.get(KfCursor, open_kfid)
    return row.cursor if row else ""


async def save_cursor(session: AsyncSession, open_kfid: str, cursor: str) -> None:
    """Persist the cursor in the caller's transaction."""
    row = await session.get(KfCursor, open_kfid)
    if row is None:
        session.add(KfCursor(open_kfid=open_kfid, cursor=cursor, updated_at=utcnow()))
    else:
        row.cursor = cursor


async def sync(ctx: EventContext, *, token: str, open_kfid: str) -> int:
    """Pull and handle everything new for one kf account; returns messages seen."""
    app = ctx.app
    try:
        async with app[CACHE].lock(sync_lock_key(open_kfid), SYNC_LOCK_HOLD, SYNC_LOCK_WAIT):
            return await _pull(ctx, token=token, open_kfid=open_kfid)
    except LockTimeoutError:
        # Another worker syncs this account (or died holding the lock until it expires):
        # this notice is retried later rather than dropped, so no message waits for the
        # customer's next one.
        raise RetryLaterError(f"kf sync of {open_kfid} busy elsewhere") from None


async def _pull(ctx: EventContext, *, token: str, open_kfid: str) -> int:
    app = ctx.app
    async with app[DB]() as session:
        cursor = await load_cursor(session, open_kfid)
    seen = 0
    for page in range(MAX_PAGES):
        try:
            data = await app[WECOM].kf_sync_msg(token or None, open_kfid, cursor)
        except WeComError as exc:
            # No retry loop: the next kf_msg_or_event resumes from the saved cursor.
            logger.error("kf sync_msg failed kf=%s errcode=%s", open_kfid, exc.errcode)
            return seen
        for msg in data.get("msg_list") or []:
            seen += 1
            await _handle_safely(app, msg, open_kfid)
        cursor = str(data.get("next_cursor") or cursor)
        last = not int(data.get("has_more") or 0) or page == MAX_PAGES - 1
        async with ctx.transaction(final=last) as session:
            await save_cursor(session, open_kfid, cursor)
        if last:
            if int(data.get("has_more") or 0):
                logger.warning("kf sync of %s stopped after %d pages", open_kfid, MAX_PAGES)
            break
    return seen


async def _handle_safely(app: web.Application, msg: Mapping[str, Any], open_kfid: str) -> None:
    """One message; a failure is logged and skipped so one bad message cannot stall the account."""
    try:
        await handle_message(app, msg, open_kfid)
    except Exception:  # noqa: BLE001 - re-reading it on every notice would stall the cursor
        logger.exception("kf message %s failed kf=%s; skipped", msg.get("msgid"), open_kfid)


def _sent_at(msg: Mapping[str, Any], now: float) -> datetime:
    """When WeCom says the message was sent (send_time), never later than now: the customer's
    messages and the persons' replies are timed alike, however late sync reads them."""
    return datetime.fromtimestamp(min(float(msg.get("send_time") or now), now), UTC)


def is_stale(msg: Mapping[str, Any], now: float | None = None) -> bool:
    """Sent longer ago than kf/send_msg allows an answer (48 h): read after a long outage."""
    sent = int(msg.get("send_time") or 0)
    return bool(sent) and (now or time.time()) - sent > reply.SEND_WINDOW


async def handle_message(app: web.Application, msg: Mapping[str, Any], open_kfid: str) -> None:
    """One item of msg_list: customer messages are stored and answered; events are handled."""
    msgtype = str(msg.get("msgtype") or "")
    msgid = str(msg.get("msgid") or "")
    now = app[CLOCK].timestamp()
    if msgtype == "event":
        sent_at = float(msg.get("send_time") or now)
        async with app[DB].begin() as session:
            await menu.on_event(session, app, dict(msg.get("event") or {}), open_kfid,
                                sent_at=sent_at)  # fmt: skip
        return
    origin = int(msg.get("origin") or 0)
    if origin == ORIGIN_SERVICER:
        await _servicer_reply(app, msg, open_kfid)
        return
    if origin != ORIGIN_CUSTOMER:
        return  # the system's own message
    euid = str(msg.get("external_userid") or "")
    kfid = str(msg.get("open_kfid") or open_kfid)
    if not euid:
        logger.warning("kf: %s message %s without a customer id", msgtype, msgid)
        return
    if msgid and await _answered(app, msgid):
        logger.info("kf: message %s already handled", msgid)
        return
    stale = is_stale(msg, now)
    sent = _sent_at(msg, now)
    # Reads first: the rules' needs, and who has the conversation now.
    body = msg.get("text") or {}
    prepared = None
    if msgtype == "text":
        prepared = await pipeline.prepare(
            app, source="kf", external_userid=euid, text=str(body.get("content") or ""),
            allow_auto_reply=True,
        )  # fmt: skip
    state = reply.HUMAN if stale else await reply.read_state(app, kfid, euid)
    known = names.Names() if stale else await names.read(app, kfid, euid)
    async with app[DB].begin() as session:
        if known.customer:  # the kf nickname, before the rules' notices name the customer
            await customers.upsert_customer(session, external_userid=euid, name=known.customer)
        if prepared is not None:
            result = await pipeline.record(
                app, session, prepared, open_kfid=kfid, source_msgid=msgid or None,
                sent_at=sent,
            )  # fmt: skip
        else:
            label = reply.media_label(msgtype)
            result = await pipeline.record_inbound(
                session, source="kf", external_userid=euid, text=f"[{label}]", open_kfid=kfid,
                source_msgid=msgid or None, sent_at=sent,
            )  # fmt: skip
        if result.answered:
            return  # another worker finished it meanwhile
        conv = reply.Conversation(app, session, kfid, euid, known.account)
        if stale:
            logger.info("kf: message %s is older than 48 h; stored, not answered", msgid)
        elif prepared is not None:
            menu_id = str(body.get("menu_id") or "")
            await reply.respond(conv, result, state=state, menu_id=menu_id)
        else:
            await reply.respond_media(conv, result, state=state, msgtype=msgtype)
        await pipeline.mark_answered(session, result.message_id)
    if prepared is not None and not result.duplicate:
        # What the live view says about the answer is read from its effect, as a reload reads it.
        async with app[DB]() as session:
            reply_status = await answers.status_of(session, result.message_id)
        await pipeline.publish(app, result, source="kf", reply_status=reply_status)


async def _servicer_reply(app: web.Application, msg: Mapping[str, Any], open_kfid: str) -> None:
    """A person's reply from the WeCom client: stored as the customer's outbound message, so
    it ends their wait (first-response time) and shows on their timeline."""
    euid, servicer = str(msg.get("external_userid") or ""), str(msg.get("servicer_userid") or "")
    msgid, msgtype = str(msg.get("msgid") or ""), str(msg.get("msgtype") or "")
    if not (euid and servicer and msgid):
        return
    body = msg.get("text") or {}
    label = f"[{reply.media_label(msgtype)}]"
    text = str(body.get("content") or "") if msgtype == "text" else label
    sent_at = _sent_at(msg, app[CLOCK].timestamp())
    async with app[DB].begin() as session:
        stored = await pipeline.record_servicer_reply(
            session, external_userid=euid, userid=servicer, text=text[:pipeline.TEXT_MAX],
            open_kfid=str(msg.get("open_kfid") or open_kfid), source_msgid=msgid, sent_at=sent_at,
        )  # fmt: skip
    if stored:
        logger.info("kf: servicer %s replied to customer=%s msg=%s", servicer, euid, msgid)


async def _answered(app: web.Application, msgid: str) -> bool:
    async with app[DB]() as session:
        answered = await session.scalar(
            select(Message.answered_at).where(
                Message.source == "kf", Message.source_msgid == msgid
            )
        )
    return answered is not None
