"""Our public origin, same-origin checks and safe return paths, for every browser face."""

from __future__ import annotations

from aiohttp import web

from bot.core.keys import SETTINGS

# A return path rides in a signed state cookie, which must stay well under browsers' 4 KB.
NEXT_MAX = 512


def base_url(request: web.Request) -> str:
    """The public origin of this server: SIDEKICK_PUBLIC_URL, never the Host header.

    Production refuses to start without it (Settings.require_complete); only the sandbox (and
    tests) fall back to the request's own origin.
    """
    public = request.config_dict[SETTINGS].public_url.rstrip("/")
    return public or f"{request.scheme}://{request.host}"


def is_secure(request: web.Request) -> bool:
    """Whether cookies for this request should be marked Secure."""
    return request.secure or base_url(request).startswith("https://")


def same_origin(request: web.Request) -> bool:
    """Whether a write comes from our own pages (no Origin header: not a cross-site fetch)."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return origin.rstrip("/") == base_url(request)


def safe_next(value: str | None, home: str) -> str:
    """A same-site path under `home` to return to after sign-in (no open redirects)."""
    if not value or not value.startswith(home) or value.startswith("//") or "\\" in value:
        return home
    if len(value) > NEXT_MAX or not value.isprintable():  # control characters, CR/LF
        return home
    return value
