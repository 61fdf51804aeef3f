"""Sign-in: OAuth2 snsapi_base -> auth/getuserinfo -> signed session cookie; CSRF for writes."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import quote, urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import PermissionDeniedError
from bot.core.keys import DB, SETTINGS
from bot.core.settings import Settings
from bot.domain import customers
from bot.domain.models import Staff
from bot.web import oauth, origin
from bot.web import session as sess
from bot.web.origin import base_url as base_url  # re-exported: jssdk and sandbox use it
from bot.web.origin import is_secure, same_origin
from bot.web.session import CsrfError, SessionExpiredError
from sidebar.errors import API_PREFIX

REQUEST_SESSION = web.RequestKey("sidebar_session", sess.Session)

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

HOME = "/sidebar/"
AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
SANDBOX_AUTHORIZE = "/sidebar/sandbox/authorize"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = {
    oauth.EXPIRED: "登录已过期，请重新打开侧边栏",
    oauth.NO_CODE: "没有拿到企业微信的授权，请重试",
    oauth.BAD_CODE: "登录失败（授权码无效或已过期），请重试",
    oauth.NOT_MEMBER: "只有企业成员可以使用侧边栏",
}


def _secret(settings: Settings) -> str:
    return settings.session_secret.get_secret_value()


def safe_next(value: str | None) -> str:
    """A same-site sidebar path to return to after sign-in (no open redirects)."""
    return origin.safe_next(value, HOME)


def login_url(next_path: str) -> str:
    """Where the page sends the rep to sign in again."""
    return f"/sidebar/auth/login?{urlencode({'next': safe_next(next_path)})}"


def authorize_url(settings: Settings, redirect_uri: str, state: str, sandbox_as: str) -> str:
    """WeCom's OAuth page (snsapi_base), or the sandbox stand-in when sandboxed."""
    query = (
        f"appid={settings.corp_id}&redirect_uri={quote(redirect_uri, safe='')}"
        f"&response_type=code&scope=snsapi_base&state={state}&agentid={settings.agent_id}"
    )
    if settings.sandbox:
        extra = f"&as={quote(sandbox_as, safe='')}" if sandbox_as else ""
        return f"{SANDBOX_AUTHORIZE}?{query}{extra}"
    return f"{AUTHORIZE}?{query}#wechat_redirect"


@routes.get("/auth/login")
async def login(request: web.Request) -> web.Response:
    """Start OAuth: remember a random state and where to return, then go to WeCom."""
    settings = request.config_dict[SETTINGS]
    state = secrets.token_hex(16)
    now = int(time.time())
    next_path = safe_next(request.query.get("next"))
    cookie = sess.sign(_secret(settings), "oauth", {"s": state, "next": next_path, "iat": now})
    redirect_uri = base_url(request) + "/sidebar/auth/callback"
    target = authorize_url(settings, redirect_uri, state, request.query.get("as", ""))
    response = web.HTTPFound(target)
    response.set_cookie(
        sess.STATE_COOKIE, cookie, max_age=sess.STATE_MAX_AGE, path="/sidebar/auth",
        httponly=True, samesite="Lax", secure=is_secure(request),
    )  # fmt: skip
    raise response


def _auth_page(request: web.Request, status: int, message: str) -> web.Response:
    context = {"code": "auth", "message": message, "retry": login_url(HOME)}
    return aiohttp_jinja2.render_template("sidebar/error.html", request, context, status=status)


@routes.get("/auth/callback")
async def callback(request: web.Request) -> web.Response:
    """OAuth return: resolve the code with WeCom, then bind the userid into the session."""
    settings = request.config_dict[SETTINGS]
    secret = _secret(settings)
    try:
        userid, next_path = await oauth.member_of_return(
            request, secret=secret, purpose="oauth", cookie=sess.STATE_COOKIE, face="sidebar"
        )
    except oauth.SignInRefused as refused:
        return _auth_page(request, refused.status, REFUSED[refused.reason])
    async with request.config_dict[DB].begin() as db:
        staff = await customers.get_staff(db, settings, userid)
        if not staff.active:
            return _auth_page(request, 403, "你的账号已停用，请联系管理员")
    _, value = sess.new_session(secret, userid, time.time(), epoch=staff.session_epoch)
    logger.info("sidebar sign-in userid=%s", userid)
    response = web.HTTPFound(safe_next(next_path))
    response.set_cookie(
        sess.COOKIE, value, max_age=sess.MAX_AGE, path="/sidebar", httponly=True,
        samesite="Lax", secure=is_secure(request),
    )  # fmt: skip
    response.del_cookie(sess.STATE_COOKIE, path="/sidebar/auth")
    raise response


@routes.post("/api/logout")
async def logout(request: web.Request) -> web.Response:
    """Sign out everywhere: every session of this member ends, not just this cookie."""
    found = session_of(request)
    async with request.config_dict[DB].begin() as db:
        staff = await db.get(Staff, found.userid)
        if staff is not None and staff.session_epoch == found.epoch:
            staff.session_epoch += 1
    logger.info("sidebar sign-out userid=%s", found.userid)
    response = web.json_response({"ok": True})
    response.del_cookie(sess.COOKIE, path="/sidebar")
    return response


def current_session(request: web.Request) -> sess.Session | None:
    """The session in the request's cookie, if valid (the member is checked by the middleware)."""
    secret = _secret(request.config_dict[SETTINGS])
    return sess.read_session(secret, request.cookies.get(sess.COOKIE), time.time())


def page_session(request: web.Request) -> sess.Session | None:
    """The session the middleware checked for the page, if any."""
    found: sess.Session | None = request.get(REQUEST_SESSION)
    return found


def session_of(request: web.Request) -> sess.Session:
    """The session the API middleware checked for this request."""
    found: sess.Session | None = request.get(REQUEST_SESSION)
    if found is None:
        raise SessionExpiredError("登录已过期，请重新登录")
    return found


async def _signed_in(request: web.Request) -> sess.Session | None:
    """The request's session if its cookie is valid and its member has neither signed out
    since nor left: PermissionDeniedError for a deactivated (departed) member."""
    found = current_session(request)
    if found is None:
        return None
    async with request.config_dict[DB]() as db:
        staff = await db.get(Staff, found.userid)
    if staff is None or staff.session_epoch != found.epoch:
        return None  # signed out everywhere since this session began
    if not staff.active:
        raise PermissionDeniedError("你的账号已停用，请联系管理员")
    return found


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The page and the API need a live session of an active member (the one check for the
    sidebar face); API writes also need its CSRF token and our own origin."""
    if request.path == HOME:
        found = await _signed_in(request)
        if found is not None:
            request[REQUEST_SESSION] = found  # the page itself redirects when there is none
    elif request.path.startswith(API_PREFIX):
        found = await _signed_in(request)
        if found is None:
            raise SessionExpiredError("登录已过期，请重新登录")
        if request.method not in _SAFE_METHODS:
            secret = _secret(request.config_dict[SETTINGS])
            token = request.headers.get("X-CSRF-Token")
            if not same_origin(request) or not sess.check_csrf(secret, found, token):
                raise CsrfError("页面已过期，请刷新后再试")
        request[REQUEST_SESSION] = found
    return await handler(request)


async def viewer(db: AsyncSession, request: web.Request) -> Staff:
    """The signed-in staff member (role and departments from our records)."""
    found = session_of(request)
    staff = await customers.get_staff(db, request.config_dict[SETTINGS], found.userid)
    if not staff.active:
        raise PermissionDeniedError("你的账号已停用，请联系管理员")
    if found.epoch != staff.session_epoch:  # signed out (everywhere) since this session began
        raise SessionExpiredError("登录已过期，请重新登录")
    return staff


def csrf_for(request: web.Request, found: sess.Session) -> str:
    """The CSRF token a page embeds for its session."""
    return sess.csrf_token(_secret(request.config_dict[SETTINGS]), found)
