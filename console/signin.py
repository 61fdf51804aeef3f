"""Sign-in: WeCom web login (扫码登录) on a desktop, OAuth inside the WeCom client, the fake's
stand-in page in sandbox mode; then auth/getuserinfo and a signed session cookie."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from bot.core.keys import DB, SETTINGS
from bot.core.settings import Settings
from bot.domain import audit, customers
from bot.domain.models import ROLE_REP, Staff
from bot.web import oauth, origin
from bot.web import session as sess
from console import auth
from console.registry import route

logger = logging.getLogger(__name__)

STATE_COOKIE = "sk_console_login"
STATE_PATH = "/console/auth"
WEB_LOGIN = "https://login.work.weixin.qq.com/wwlogin/sso/login"
OAUTH = "https://open.weixin.qq.com/connect/oauth2/authorize"
SANDBOX_WEB_LOGIN = "/wwlogin/sso/login"  # under the fake's base URL (bot/sandbox/fake_weblogin)
CALLBACK = "/console/auth/callback"
SIGNED_OUT = "/console/auth/signed-out"
REFUSED = {
    oauth.EXPIRED: "登录已过期，请重新登录",
    oauth.NO_CODE: "没有拿到企业微信的授权，请重试",
    oauth.BAD_CODE: "登录失败（授权码无效或已过期），请重试",
    oauth.NOT_MEMBER: "只有企业成员可以登录操作台",
}


def in_wecom_client(request: web.Request) -> bool:
    """Whether the page is opened inside the WeCom client (its webview says wxwork)."""
    return "wxwork" in request.headers.get("User-Agent", "").lower()


def sign_in_url(
    settings: Settings, redirect_uri: str, state: str, *, in_client: bool, sandbox_as: str = ""
) -> str:
    """WeCom's web login (desktop), its OAuth (in the client), or the sandbox's stand-in."""
    if settings.sandbox:
        query = {
            "login_type": "CorpApp", "appid": settings.corp_id,
            "agentid": str(settings.agent_id), "redirect_uri": redirect_uri, "state": state,
        }  # fmt: skip
        if sandbox_as:
            query["as"] = sandbox_as
        return f"{settings.api_base}{SANDBOX_WEB_LOGIN}?{urlencode(query)}"
    if in_client:
        query = {
            "appid": settings.corp_id, "redirect_uri": redirect_uri, "response_type": "code",
            "scope": "snsapi_base", "state": state, "agentid": str(settings.agent_id),
        }  # fmt: skip
        return f"{OAUTH}?{urlencode(query)}#wechat_redirect"
    query = {
        "login_type": "CorpApp", "appid": settings.corp_id, "agentid": str(settings.agent_id),
        "redirect_uri": redirect_uri, "state": state,
    }  # fmt: skip
    return f"{WEB_LOGIN}?{urlencode(query)}"


@route("GET", "/auth/login", role=None)
async def login(request: web.Request) -> web.StreamResponse:
    """Start sign-in: remember a random state and where to return, then go to WeCom."""
    settings = request.config_dict[SETTINGS]
    state = secrets.token_hex(16)
    next_path = origin.safe_next(request.query.get("next"), auth.HOME)
    cookie = sess.sign(
        auth.secret(request), "console-login", {"s": state, "next": next_path,
                                                "iat": int(time.time())}
    )  # fmt: skip
    target = sign_in_url(
        settings, origin.base_url(request) + CALLBACK, state,
        in_client=in_wecom_client(request), sandbox_as=request.query.get("as", "")[:64],
    )  # fmt: skip
    response = web.HTTPFound(target)
    response.set_cookie(
        STATE_COOKIE, cookie, max_age=sess.STATE_MAX_AGE, path=STATE_PATH, httponly=True,
        samesite="Lax", secure=origin.is_secure(request),
    )  # fmt: skip
    raise response


def _refused(request: web.Request, status: int, message: str) -> web.Response:
    context = {"status": status, "title": "无法登录", "message": message,
               "retry": auth.login_url(auth.HOME)}  # fmt: skip
    return aiohttp_jinja2.render_template("console/error.html", request, context, status=status)


@route("GET", "/auth/callback", role=None)
async def callback(request: web.Request) -> web.StreamResponse:
    """WeCom sends the member back with a code: resolve it, check the member, sign them in."""
    settings = request.config_dict[SETTINGS]
    try:
        userid, next_path = await oauth.member_of_return(
            request, secret=auth.secret(request), purpose="console-login", cookie=STATE_COOKIE,
            face="console",
        )  # fmt: skip
    except oauth.SignInRefused as refused:
        return _refused(request, refused.status, REFUSED[refused.reason])
    async with request.config_dict[DB].begin() as db:
        staff = await customers.get_staff(db, settings, userid)
        if not staff.active:
            return _refused(request, 403, auth.DEPARTED)
        epoch = staff.session_epoch
        await audit.record(db, actor=userid, action="console.sign_in",
                           detail={"client": in_wecom_client(request)})  # fmt: skip
    _, value = sess.new_session(auth.secret(request), userid, time.time(), epoch=epoch)
    logger.info("console sign-in userid=%s", userid)
    response = web.HTTPFound(origin.safe_next(next_path, auth.HOME))
    response.set_cookie(
        auth.COOKIE, value, max_age=sess.MAX_AGE, path=auth.COOKIE_PATH, httponly=True,
        samesite="Lax", secure=origin.is_secure(request),
    )  # fmt: skip
    response.del_cookie(STATE_COOKIE, path=STATE_PATH)
    raise response


@route("POST", "/auth/logout", role=ROLE_REP)
async def logout(request: web.Request) -> web.StreamResponse:
    """Sign out everywhere: every session of this member ends (console and sidebar)."""
    viewer = auth.viewer_of(request)
    async with request.config_dict[DB].begin() as db:
        staff = await db.get(Staff, viewer.userid)
        if staff is not None and staff.session_epoch == viewer.session.epoch:
            staff.session_epoch += 1
    logger.info("console sign-out userid=%s", viewer.userid)
    response = web.HTTPSeeOther(SIGNED_OUT)
    response.del_cookie(auth.COOKIE, path=auth.COOKIE_PATH)
    raise response


@route("GET", "/auth/signed-out", role=None)
async def signed_out(request: web.Request) -> web.StreamResponse:
    """The page after signing out, with a way back in."""
    context = {"status": 200, "title": "已退出登录", "message": "你已退出操作台。",
               "retry": auth.login_url(auth.HOME)}  # fmt: skip
    return aiohttp_jinja2.render_template("console/error.html", request, context)
