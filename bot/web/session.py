"""Signed session cookies and CSRF tokens (HMAC-SHA256 with settings.session_secret).

Shared by every browser face (sidebar, console); each sets its own cookie name and path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from bot.core.errors import UserError

COOKIE = "sk_session"
STATE_COOKIE = "sk_oauth"
# A working day plus margin: reps keep the sidebar open all day, then sign in again.
MAX_AGE = 12 * 3600
# The OAuth state cookie lives as long as WeCom's OAuth code (5 minutes) and a little more.
STATE_MAX_AGE = 600
_VERSION = "v1"


class SessionExpiredError(UserError):
    """No valid session: a write is refused, a page signs in again."""

    code = "unauthorized"
    status = 401


class CsrfError(UserError):
    """A write without this session's CSRF token, or from another origin."""

    code = "csrf"
    status = 403


class SessionConfigError(Exception):
    """The session secret is not configured."""


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in (from auth/getuserinfo, never from the page) and since when."""

    userid: str
    issued_at: int
    nonce: str
    epoch: int = 0  # the member's session_epoch when signed in; see Staff.session_epoch


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, data: str) -> str:
    if not secret:
        raise SessionConfigError("SIDEKICK_SESSION_SECRET is empty")
    digest = hmac.new(secret.encode(), f"{purpose}|{data}".encode(), hashlib.sha256).digest()
    return _b64(digest)


def sign(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    """A tamper-proof token carrying payload (readable, not secret)."""
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{_VERSION}.{body}.{_mac(secret, purpose, body)}"


def unsign(
    secret: str, purpose: str, token: str | None, *, max_age: int, now: float
) -> dict[str, Any] | None:
    """The payload of a token signed for `purpose`, or None when forged, malformed or expired."""
    if not token:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        return None
    _, body, mac = parts
    if not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict):
        return None
    issued = payload.get("iat")
    if not isinstance(issued, int) or not (now - max_age <= issued <= now + 60):
        return None
    return payload


def new_session(secret: str, userid: str, now: float, epoch: int = 0) -> tuple[Session, str]:
    """A fresh session for userid and its cookie value."""
    session = Session(
        userid=userid, issued_at=int(now), nonce=secrets.token_urlsafe(12), epoch=epoch
    )
    payload = {"u": session.userid, "iat": session.issued_at, "n": session.nonce, "e": epoch}
    return session, sign(secret, "session", payload)


def read_session(secret: str, cookie: str | None, now: float) -> Session | None:
    """The session in a cookie value, or None when it is missing, forged or expired."""
    payload = unsign(secret, "session", cookie, max_age=MAX_AGE, now=now)
    if payload is None:
        return None
    userid, nonce, epoch = payload.get("u"), payload.get("n"), payload.get("e", 0)
    if not isinstance(userid, str) or not userid or not isinstance(nonce, str):
        return None
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    return Session(userid=userid, issued_at=int(payload["iat"]), nonce=nonce, epoch=epoch)


def csrf_token(secret: str, session: Session) -> str:
    """The CSRF token bound to one session (sent back by the page in X-CSRF-Token)."""
    return _mac(secret, "csrf", f"{session.userid}|{session.nonce}")


def check_csrf(secret: str, session: Session, token: str | None) -> bool:
    """Whether a request's CSRF token belongs to its session."""
    expected = csrf_token(secret, session).encode()
    return bool(token) and hmac.compare_digest(str(token).encode(), expected)
