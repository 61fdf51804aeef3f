"""kf events: the enter_session welcome with a menu of the top FAQ categories, and the rest."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.keys import CLOCK, KB
from bot.domain import kf_queue
from bot.outbox import effects
from knowledge.model import KnowledgeBase

logger = logging.getLogger(__name__)

MENU_CATEGORIES = 5
WELCOME_HEAD = "您好，欢迎咨询！请问有什么可以帮您？常见问题："
WELCOME_TAIL = "也可以直接输入您的问题；需要人工服务请回复「人工」。"
WELCOME_PLAIN = "您好，欢迎咨询！请直接输入您的问题；需要人工服务请回复「人工」。"


def top_categories(kb: KnowledgeBase, limit: int = MENU_CATEGORIES) -> list[str]:
    """FAQ categories with the most entries first (ties: first seen first)."""
    counts = Counter(e.category for e in kb.entries if e.enabled and e.category)
    order = {c: i for i, c in reversed(list(enumerate(e.category for e in kb.entries)))}
    return sorted(counts, key=lambda c: (-counts[c], order[c]))[:limit]


def welcome_menu(kb: KnowledgeBase) -> dict[str, Any]:
    """The msgmenu of the enter_session welcome: one click item per top category."""
    items = [
        {"type": "click", "click": {"id": f"cat:{c}"[:64], "content": c}}
        for c in top_categories(kb)
    ]
    return {"head_content": WELCOME_HEAD, "list": items, "tail_content": WELCOME_TAIL}


def welcome_message(kb: KnowledgeBase) -> tuple[str, dict[str, Any]]:
    """(msgtype, body) of the welcome: the menu, or plain text when there are no categories."""
    menu = welcome_menu(kb)
    if not menu["list"]:
        return "text", {"content": WELCOME_PLAIN}
    return "msgmenu", menu


async def on_event(
    session: AsyncSession, app: web.Application, event: dict[str, Any], open_kfid: str,
    *, sent_at: float,
) -> None:  # fmt: skip
    """kf events: the enter_session welcome is recorded (once per code); others are logged."""
    kind = str(event.get("event_type") or "")
    if kind == "enter_session" and event.get("welcome_code"):
        code = str(event["welcome_code"])
        msgtype, body = welcome_message(app[KB].snapshot.kb)
        # The code lives 20 s from the event (wecom-reference §5.4).
        payload = {"code": code, "msgtype": msgtype, "body": body, "expires_at": sent_at + 20}
        await effects.add(session, "kf.event_send", payload, key=f"kf-welcome:{code}")
        logger.info("kf welcome queued kf=%s customer=%s", open_kfid, event.get("external_userid"))
    elif kind == "session_status_change":
        event = {"open_kfid": open_kfid} | event
        await kf_queue.on_status_change(session, event, app[CLOCK].now())
        logger.info("kf session change %s kf=%s", event.get("change_type"), open_kfid)
    elif kind == "msg_send_fail":
        logger.warning("kf message %s not delivered (type %s)", event.get("fail_msgid"),
                       event.get("fail_type"))  # fmt: skip
    else:
        logger.info("kf event %s kf=%s", kind or "?", open_kfid)
