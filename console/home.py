"""/console/: the first page the member's role may open."""

from __future__ import annotations

from aiohttp import web

from bot.domain.models import ROLE_SUPERVISOR
from console import auth, registry
from console.registry import route


@route("GET", "/", role=ROLE_SUPERVISOR)
async def home(request: web.Request) -> web.StreamResponse:
    """Redirect to the first page in the nav."""
    entries = registry.nav_for(auth.viewer_of(request).role)
    raise web.HTTPFound(entries[0][1] if entries else "/console/auth/signed-out")
