"""The fake's stand-in for WeCom's web login page (扫码登录, login.work.weixin.qq.com).

GET /wwlogin/sso/login?login_type=CorpApp&appid=&agentid=&redirect_uri=&state= shows the
address book's members; choosing one (or passing as=) redirects to redirect_uri with a
single-use code that auth/getuserinfo resolves, as WeCom does after a member scans the QR.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from aiohttp import web

if TYPE_CHECKING:
    from bot.sandbox.fake import FakeWeCom

PATH = "/wwlogin/sso/login"

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>企业微信登录（模拟）</title></head><body>
<h1>企业微信扫码登录（沙盒模拟）</h1>
<p>选择要登录的成员；模拟企业微信签发一次性授权码，再走正常的登录回调。</p>
<ul>{items}</ul>
<form method="get">{hidden}<input name="as" placeholder="其他成员账号" required maxlength="64">
<button type="submit">登录</button></form>
</body></html>
"""


def add_routes(fake: FakeWeCom) -> None:
    """Serve the web-login stand-in on the fake's app."""

    async def login(request: web.Request) -> web.Response:
        query = request.query
        state = fake.state
        if query.get("login_type") != "CorpApp" or query.get("appid") != state.corp_id:
            return web.Response(status=400, text="参数错误：appid 或 login_type 不对")
        if query.get("agentid") != str(state.agent_id):
            return web.Response(status=400, text="参数错误：agentid 不对")
        redirect_uri = query.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return web.Response(status=400, text="参数错误：redirect_uri")
        chosen = query.get("as", "").strip()
        if chosen:
            code = fake.issue_oauth_code(chosen)
            back = urlencode({"code": code, "state": query.get("state", "")})
            raise web.HTTPFound(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{back}")
        keep = {k: v for k, v in query.items() if k != "as"}
        items = "".join(
            f'<li><a href="?{escape(urlencode({**keep, "as": userid}))}">'
            f"{escape(str(member.get('name') or userid))}（{escape(userid)}）</a></li>"
            for userid, member in state.members.items()
        )
        hidden = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in keep.items()
        )
        return web.Response(
            text=_PAGE.format(items=items, hidden=hidden), content_type="text/html"
        )

    fake.app.router.add_get(PATH, login)
