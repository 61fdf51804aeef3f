"""The sidebar page itself (server-rendered shell; the JS module fills it from the API)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.core.keys import SETTINGS
from sidebar import auth

routes = web.RouteTableDef()

# The real JS-SDK (production only); the sandbox serves its stand-in from /sidebar/static/.
WECOM_SCRIPTS = (
    "https://res.wx.qq.com/open/js/jweixin-1.2.0.js",
    "https://open.work.weixin.qq.com/wwopen/js/jwxwork-1.0.0.js",
)
_CSP = (
    "default-src 'self'; script-src 'self' https://res.wx.qq.com https://open.work.weixin.qq.com; "
    "style-src 'self'; img-src 'self' data: https:; connect-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)


def page_headers(response: web.StreamResponse) -> None:
    """Security headers for every sidebar page (set by the sub-app's response hook)."""
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


@routes.get("/")
async def sidebar_page(request: web.Request) -> web.StreamResponse:
    """The chat-toolbar page; without a session it starts the OAuth sign-in."""
    found = auth.page_session(request)
    if found is None:
        raise web.HTTPFound(auth.login_url(request.path_qs))
    settings = request.config_dict[SETTINGS]
    boot: dict[str, Any] = {
        "userid": found.userid,
        "csrf": auth.csrf_for(request, found),
        "sandbox": settings.sandbox,
        "login": auth.login_url(request.path_qs),
        "timezone": settings.timezone,
    }
    context = {
        "boot": boot,
        "sandbox": settings.sandbox,
        "wecom_scripts": () if settings.sandbox else WECOM_SCRIPTS,
    }
    return aiohttp_jinja2.render_template("sidebar/sidebar.html", request, context)
