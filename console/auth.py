"""The console's one permission check: a live session of an active member with the route's
minimum role; writes also need the session's CSRF token and our own origin."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from bot.core.errors import PermissionDeniedError
from bot.core.keys import DB, SETTINGS
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR, Staff
from bot.web import origin
from bot.web import session as sess
from bot.web.session import CsrfError, SessionExpiredError

HOME = "/console/"
COOKIE = "sk_console"
COOKIE_PATH = "/console"
LOGIN = "/console/auth/login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD"})

REP_REFUSED = "操作台仅对主管和管理员开放；如需使用，请联系管理员调整角色"
ADMIN_ONLY = "这个页面只有管理员可以打开"
DEPARTED = "你的账号已停用，请联系管理员"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in member as the console sees them (from our records, never the page)."""

    userid: str
    name: str
    role: str
    departments: tuple[int, ...]
    session: sess.Session

    @property
    def label(self) -> str:
        """How the top bar shows the member."""
        return f"{self.name}（{self.userid}）" if self.name else self.userid

    @property
    def is_admin(self) -> bool:
        """Whether the member sees everything."""
        return self.role == ROLE_ADMIN


VIEWER = web.RequestKey("console_viewer", Viewer)


def allowed(role: str, minimum: str) -> bool:
    """Whether a role reaches a route's minimum role."""
    return staff_service.rank(role) >= staff_service.rank(minimum)


def secret(request: web.Request) -> str:
    """The session-signing secret."""
    return request.config_dict[SETTINGS].session_secret.get_secret_value()


def login_url(next_path: str) -> str:
    """Where a page sends the member to sign in, returning to next_path."""
    return f"{LOGIN}?{urlencode({'next': origin.safe_next(next_path, HOME)})}"


async def _csrf_token(request: web.Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type == "application/x-www-form-urlencoded":
        value = (await request.post()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def _member(request: web.Request) -> tuple[sess.Session, Staff, str] | None:
    """The cookie's session, its member and their role (settings can only raise it), when the
    session is valid and current; None otherwise (a bad cookie, or signed out since)."""
    found = sess.read_session(secret(request), request.cookies.get(COOKIE), time.time())
    if found is None:
        return None
    async with request.config_dict[DB]() as db:
        staff = await db.get(Staff, found.userid)
    if staff is None or staff.session_epoch != found.epoch:
        return None
    settings = request.config_dict[SETTINGS]
    role = max(staff.role, staff_service.seeded_role(settings, staff.userid),
               key=staff_service.rank)  # fmt: skip
    return found, staff, role


async def may_upload(request: web.Request, minimum: str) -> bool:
    """Whether the request's session is live and its member reaches `minimum`, checked before
    the body is read (no CSRF: that may sit in the body); lets an upload past the app's body
    limit only for members the route admits, so `require` still runs on the whole request."""
    member = await _member(request)
    return member is not None and member[1].active and allowed(member[2], minimum)


async def require(request: web.Request, minimum: str) -> Viewer:
    """The one check every console route runs (registry.route): sets request[VIEWER]."""
    member = await _member(request)
    if member is None:
        if request.method in _SAFE_METHODS:
            raise web.HTTPFound(login_url(request.path_qs))
        raise SessionExpiredError("登录已过期，请刷新页面重新登录")
    found, staff, role = member
    if not staff.active:
        raise PermissionDeniedError(DEPARTED)
    if not allowed(role, minimum):
        raise PermissionDeniedError(REP_REFUSED if minimum == ROLE_SUPERVISOR or not
                                    allowed(role, ROLE_SUPERVISOR) else ADMIN_ONLY)  # fmt: skip
    if request.method not in _SAFE_METHODS:
        token = await _csrf_token(request)
        if not origin.same_origin(request) or not sess.check_csrf(secret(request), found, token):
            raise CsrfError("页面已过期，请刷新后再试")
    viewer = Viewer(
        userid=staff.userid, name=staff.name, role=role,
        departments=tuple(staff.departments or ()), session=found,
    )  # fmt: skip
    request[VIEWER] = viewer
    return viewer


def viewer_of(request: web.Request) -> Viewer:
    """The member the route's check admitted."""
    return request[VIEWER]


def csrf_for(request: web.Request) -> str:
    """The CSRF token a page embeds (forms: hidden field `csrf`; fetch: X-CSRF-Token)."""
    return sess.csrf_token(secret(request), viewer_of(request).session)
