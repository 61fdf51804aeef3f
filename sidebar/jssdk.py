"""wx.config / wx.agentConfig signatures for the exact page URL (tickets cached by WeComClient)."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.core.errors import UsageError
from bot.core.keys import SETTINGS, WECOM
from bot.wecom import client as wecom_client
from sidebar import auth

routes = web.RouteTableDef()

# The JS-SDK calls the sidebar uses; both configs list them.
JS_API_LIST = (
    "getContext",
    "getCurExternalContact",
    "getCurExternalChat",
    "sendChatMessage",
)


def page_url(url: str) -> str:
    """The URL that is signed: everything before the #fragment, byte for byte."""
    return url.split("#", 1)[0]


def signature(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """sha1 of jsapi_ticket, noncestr, timestamp and url (wecom-reference §8.2)."""
    return wecom_client.jsapi_signature(ticket, noncestr, timestamp, page_url(url))


def check_url(request: web.Request, url: str) -> str:
    """The page URL, if it is one of ours under /sidebar/ (we sign nothing else)."""
    if not url:
        raise UsageError("缺少页面地址 url")
    parts = urlsplit(page_url(url))
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin != auth.base_url(request) or not parts.path.startswith(auth.HOME):
        raise UsageError("只能为侧边栏页面签名")
    return page_url(url)


@routes.get("/api/jssdk")
async def jssdk_config(request: web.Request) -> web.Response:
    """Signed parameters for wx.config (corp ticket) and wx.agentConfig (app ticket)."""
    url = check_url(request, request.query.get("url", ""))
    settings = request.config_dict[SETTINGS]
    wecom = request.config_dict[WECOM]
    corp_ticket = await wecom.get_jsapi_ticket()
    agent_ticket = await wecom.get_agent_ticket()
    timestamp = int(time.time())
    nonce = secrets.token_hex(8)
    config: dict[str, Any] = {
        "beta": True,
        "appId": settings.corp_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": signature(corp_ticket, nonce, timestamp, url),
        "jsApiList": list(JS_API_LIST),
    }
    agent: dict[str, Any] = {
        "corpid": settings.corp_id,
        "agentid": settings.agent_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": signature(agent_ticket, nonce, timestamp, url),
        "jsApiList": list(JS_API_LIST),
    }
    return web.json_response({"url": url, "config": config, "agentConfig": agent})
