"""微信客服 (kf): pull with kf/sync_msg, answer from the FAQ, or hand over to a human.

The callback only says "there is news"; `sync` pulls pages from the persisted cursor and saves
it after each page, so a crash re-reads at most one page and the pipeline's message
de-duplication keeps a re-read message from being answered twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.cache import LockTimeoutError
from bot.core.db import utcnow
from bot.core.errors import WeComError
from bot.core.keys import CACHE, DB, WECOM
from bot.domain import pipeline
from bot.domain.models import KfCursor
from handlers.kf import menu as kf_menu
from handlers.kf import reply as kf_reply

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
# A page is at most 1000 messages; this bounds one sync even if has_more never drops.
MAX_PAGES = 50
# One sync per kf account at a time; a crashed holder frees the lock after this.
SYNC_LOCK_HOLD = 120.0
SYNC_LOCK_WAIT = 60.0
# kf only keeps three days of messages; event ids are remembered as long.
SEEN_TTL = 3 * 24 * 3600
ORIGIN_CUSTOMER = 3


def sync_lock_key(open_kfid: str) -> str:
    """Cache lock serialising syncs of one kf account across workers."""
    return f"kf:sync-lock:{open_kfid}"


def seen_event_key(msgid: str) -> str:
    """Cache key marking a kf event message as handled."""
    return f"kf:seen:{msgid}"


async def load_cursor(session: AsyncSession, open_kfid: str) -> str:
    """The saved cursor of a kf account ("" the first time)."""
    row = await session.get(KfCursor, open_kfid)
    return row.cursor if row else ""


async def save_cursor(app: web.Application, open_kfid: str, cursor: str) -> None:
    """Persist the cursor (its own transaction: it must survive what follows)."""
    async with app[DB].begin() as session:
        row = await session.get(KfCursor, open_kfid)
        if row is None:
            session.add(KfCursor(open_kfid=open_kfid, cursor=cursor, updated_at=utcnow()))
        else:
            row.cursor = cursor


async def sync(app: web.Application, *, token: str, open_kfid: str) -> int:
    """Pull and handle everything new for one kf account; returns messages seen."""
    try:
        async with app[CACHE].lock(sync_lock_key(open_kfid), SYNC_LOCK_HOLD, SYNC_LOCK_WAIT):
            return await _pull(app, token=token, open_kfid=open_kfid)
    except LockTimeoutError:
        logger.warning("kf sync of %s still busy elsewhere; skipping this notice", open_kfid)
        return 0


async def _pull(app: web.Application, *, token: str, open_kfid: str) -> int:
    async with app[DB]() as session:
        cursor = await load_cursor(session, open_kfid)
    seen = 0
    for _ in range(MAX_PAGES):
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
        await save_cursor(app, open_kfid, cursor)
        if not int(data.get("has_more") or 0):
            break
    else:
        logger.warning("kf sync of %s stopped after %d pages", open_kfid, MAX_PAGES)
    return seen


async def _handle_safely(app: web.Application, msg: Mapping[str, Any], open_kfid: str) -> None:
    """One message; a failure is logged and skipped so one bad message cannot stall the account."""
    try:
        await handle_message(app, msg, open_kfid)
    except Exception:  # noqa: BLE001 - re-reading it on every notice would stall the cursor
        logger.exception("kf message %s failed kf=%s; skipped", msg.get("msgid"), open_kfid)


def is_stale(msg: Mapping[str, Any], now: float | None = None) -> bool:
    """Sent longer ago than kf/send_msg allows an answer (48 h): read after a long outage."""
    sent = int(msg.get("send_time") or 0)
    return bool(sent) and (now or time.time()) - sent > kf_reply.SEND_WINDOW


async def handle_message(app: web.Application, msg: Mapping[str, Any], open_kfid: str) -> None:
    """One item of msg_list: customer messages are stored and answered; events are handled."""
    msgtype = str(msg.get("msgtype") or "")
    msgid = str(msg.get("msgid") or "")
    if msgtype == "event":
        if msgid and not await app[CACHE].set_nx(seen_event_key(msgid), "1", SEEN_TTL):
            return
        await kf_menu.on_event(app, dict(msg.get("event") or {}), open_kfid)
        return
    if int(msg.get("origin") or 0) != ORIGIN_CUSTOMER:
        return  # a servicer's or the system's own message
    euid = str(msg.get("external_userid") or "")
    kfid = str(msg.get("open_kfid") or open_kfid)
    if not euid:
        logger.warning("kf: %s message %s without a customer id", msgtype, msgid)
        return
    body = msg.get("text") or {}
    if msgtype == "text":
        result = await pipeline.handle_customer_text(
            app, source="kf", external_userid=euid, text=str(body.get("content") or ""),
            open_kfid=kfid, source_msgid=msgid or None, allow_auto_reply=True,
        )  # fmt: skip
    else:
        result = await pipeline.record_inbound(
            app, source="kf", external_userid=euid, text=f"[{kf_reply.media_label(msgtype)}]",
            open_kfid=kfid, source_msgid=msgid or None,
        )  # fmt: skip
    if result.answered:
        logger.info("kf: message %s already handled", msgid)
        return
    if result.duplicate:
        logger.warning("kf: message %s was stored but never answered; answering now", msgid)
    if is_stale(msg):
        logger.info("kf: message %s is older than 48 h; stored, not answered", msgid)
    else:
        conv = kf_reply.Conversation(app, kfid, euid)
        await conv.customer_wrote()
        if msgtype == "text":
            await kf_reply.respond(conv, result, menu_id=str(body.get("menu_id") or ""))
        else:
            await kf_reply.respond_media(conv, result, msgtype)
    await pipeline.mark_answered(app, result.message_id)
