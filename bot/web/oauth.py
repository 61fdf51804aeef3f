"""The OAuth return shared by every browser face: check the state, resolve the code, sync."""

from __future__ import annotations

import logging
import secrets
import time

from aiohttp import web

from bot.core.errors import WeComError
from bot.core.keys import DB, SETTINGS, WECOM
from bot.domain import staff as staff_service
from bot.web import session as sess

logger = logging.getLogger(__name__)

# Why a return was refused; each face words it for its own page.
EXPIRED = "expired"  # no state cookie, a stale one, or ?state= does not match it
NO_CODE = "no_code"
BAD_CODE = "bad_code"  # WeCom refused the code (invalid or used)
NOT_MEMBER = "not_member"  # the code is for someone outside the corp

STATUS = {EXPIRED: 400, NO_CODE: 400, BAD_CODE: 400, NOT_MEMBER: 403}


class SignInRefused(Exception):
    """The OAuth return cannot sign anyone in; `reason` is one of the constants above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = STATUS[reason]


async def member_of_return(
    request: web.Request, *, secret: str, purpose: str, cookie: str, face: str
) -> tuple[str, str]:
    """(userid, the state's next path) of a WeCom OAuth return; the member is synced."""
    state = sess.unsign(
        secret, purpose, request.cookies.get(cookie), max_age=sess.STATE_MAX_AGE, now=time.time()
    )
    sent = request.query.get("state", "").encode()
    if state is None or not secrets.compare_digest(str(state.get("s")).encode(), sent):
        raise SignInRefused(EXPIRED)
    code = request.query.get("code", "")
    if not code:
        raise SignInRefused(NO_CODE)
    try:
        info = await request.config_dict[WECOM].auth_getuserinfo(code)
    except WeComError as exc:
        logger.warning("%s sign-in failed errcode=%s", face, exc.errcode)
        raise SignInRefused(BAD_CODE) from None
    userid = str(info.get("userid") or info.get("UserId") or "")
    if not userid:
        raise SignInRefused(NOT_MEMBER)
    # Name and departments from WeCom (user/get) when first seen or a day old; never fails.
    await staff_service.ensure_synced(
        request.config_dict[DB], request.config_dict[SETTINGS], request.config_dict[WECOM], userid
    )
    return userid, str(state.get("next"))
