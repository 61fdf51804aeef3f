"""Test helpers: talk to the app the way WeCom does, and read what it answered."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.core.keys import DB, OUTBOX, TASKS
from bot.outbox.model import SENDING, Effect
from bot.sandbox.fake import FakeWeCom
from bot.wecom.crypto import WeComCrypto, parse_envelope, parse_plain
from tests import conftest

# The app each fake calls back (set by the client fixture), so `say` can wait for its effects.
APPS: dict[int, web.Application] = {}


async def settle(app: web.Application) -> None:
    """Wait until the app's handlers finished and its outbox delivered all that is due."""
    while True:
        running = [t for t in app[TASKS] if not t.done()]
        if running:
            await asyncio.wait(running)
            continue
        await app[OUTBOX].settle()
        if not [t for t in app[TASKS] if not t.done()]:
            return


async def settle_all(*apps: web.Application) -> None:
    """settle() each app (workers on one database) until no effect is claimed anywhere: one
    app's own sender loop may claim an effect while another app settles."""
    while True:
        for app in apps:
            await settle(app)
        async with apps[0][DB]() as session:
            claimed = await session.scalar(
                select(func.count()).select_from(Effect).where(Effect.status == SENDING)
            )
        if not claimed:
            return


def reply_text(body: bytes, crypto: WeComCrypto | None = None) -> str:
    """The Content of an encrypted passive reply ("" for an empty body)."""
    if not body:
        return ""
    crypto = crypto or WeComCrypto(conftest.TOKEN, conftest.AES_KEY, conftest.CORP_ID)
    plain = crypto.decrypt(parse_envelope(body)["Encrypt"])
    return parse_plain(plain).get("Content", "")


def sent_to(fake: FakeWeCom, userid: str, since: int = 0) -> list[dict[str, Any]]:
    """message/send calls delivered to userid (accepted, not dropped by WeCom's duplicate
    check), after the first `since` recorded calls."""
    return [
        call
        for call in fake.calls[since:]
        if call["path"] == "cgi-bin/message/send"
        and (call["json"] or {}).get("touser") == userid
        and call.get("errcode") == 0
        and not call.get("duplicate")
    ]


def texts_to(fake: FakeWeCom, userid: str, since: int = 0) -> list[str]:
    """The texts of the app messages sent to userid (e.g. results that arrive after a reply)."""
    return [message_content(c) for c in sent_to(fake, userid, since)]


def message_content(call: dict[str, Any]) -> str:
    """The text of a message/send call, whatever its msgtype."""
    body = call["json"] or {}
    kind = body.get("msgtype", "text")
    part = body.get(kind, {})
    if kind == "textcard":
        return f"{part.get('title', '')}\n{part.get('description', '')}"
    return str(part.get("content", ""))


async def say(fake: FakeWeCom, userid: str, text: str, *, wait: float = 5.0) -> str:
    """Send text to the app as member userid; return the reply, passive or sent later."""
    assert fake.callback_url, "the client fixture sets the fake's callback_url"
    before = len(fake.calls)
    status, body = await fake.post_callback(fake.callback_url, fake.xml_app_text(userid, text))
    assert status == 200, status
    if id(fake) in APPS:
        await settle(APPS[id(fake)])
    passive = reply_text(body)
    if passive:
        return passive
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        calls = sent_to(fake, userid, before)
        if calls:
            return message_content(calls[-1])
        await asyncio.sleep(0.02)
    return ""


def click_xml(userid: str, created: int = 1700000000) -> bytes:
    """A member's menu-click event: no MsgId, so it is keyed on user + event + time."""
    return (
        f"<xml><ToUserName><![CDATA[{conftest.CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{userid}]]></FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[click]]></Event>"
        f"<EventKey><![CDATA[menu1]]></EventKey><AgentID>{conftest.AGENT_ID}</AgentID></xml>"
    ).encode()
