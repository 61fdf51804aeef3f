"""The landing page and the health check."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from bot.archive import cursor as archive_cursor
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.inbound import inbox
from bot.outbox import effects

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

# Load balancers give a health check a few seconds; an answer after the pool's own 30 s
# timeout would look like a hung server rather than a busy database.
DEADLINE = 3.0

_STYLE = (
    'body{font:16px/1.6 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;'
    "max-width:40em;margin:3em auto;padding:0 1em;color:#222}a{color:#07c160}"
)
# Any HTML this server answers gets this policy unless its face sets its own (the sidebar
# does): nothing but our own resources, and the landing page's one inline style by its hash.
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'self' 'sha256-{_STYLE_HASH}'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_LANDING = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeCom Sidekick</title>
<style>{style}</style>
</head><body>
<h1>WeCom Sidekick 客服助手</h1>
<p>服务运行中。回调地址：<code>/wecom/callback</code></p>
{sandbox}
<p><a href="/healthz">健康检查</a></p>
</body></html>
"""

_SANDBOX = (
    "<p>当前为<strong>沙盒模式</strong>（模拟企业微信）："
    '<a href="/sandbox">打开客户聊天模拟器和侧边栏</a></p>'
)


@routes.get("/")
async def landing(request: web.Request) -> web.Response:
    """A short page saying the server runs, with the sandbox link when there is one."""
    sandbox = _SANDBOX if request.app[SETTINGS].sandbox else ""
    return web.Response(
        text=_LANDING.format(style=_STYLE, sandbox=sandbox), content_type="text/html"
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare of the root app, so every face's pages: a strict default CSP for
    HTML (a face with its own policy replaces it after this runs), no MIME sniffing."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Referrer-Policy", "same-origin")


@routes.get("/healthz")
async def health(request: web.Request) -> web.Response:
    """Database, inbox and outbox; 503 JSON when the database is unreachable, or too busy to
    answer within the check's deadline (every pooled connection taken)."""
    try:
        async with asyncio.timeout(DEADLINE), request.app[DB]() as session:
            await session.execute(text("SELECT 1"))
            by_status = await inbox.counts(session)
            outbox = await effects.counts(session)
            oldest = await effects.oldest_open(session)
            archive = await archive_cursor.status(session, request.app[CLOCK].now())
    except (SQLAlchemyTimeoutError, TimeoutError) as exc:
        logger.warning("health check: database busy (%s)", type(exc).__name__)
        body = {"ok": False, "database": "busy", "error": "database busy: no free connection"}
        return web.json_response(body, status=503)
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("health check: database unavailable (%s)", type(exc).__name__)
        body = {"ok": False, "database": "unavailable", "error": "database unavailable"}
        return web.json_response(body, status=503)
    now = request.app[CLOCK].now()
    waiting = round((now - oldest).total_seconds(), 1) if oldest is not None else 0.0
    body = {
        "ok": True,
        "database": "ok",
        "inbox": by_status,
        "outbox": outbox,
        # How long the oldest effect not yet delivered has waited (a stuck sender shows).
        "outbox_oldest_waiting_s": waiting,
    }
    if archive is not None:  # the chat-archive puller's last outcome (python -m bot archive)
        body["archive"] = archive
    return web.json_response(body)
