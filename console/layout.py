"""Rendering a console page inside the shared layout (templates/console/base.html)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from bot.core.keys import SETTINGS
from console import auth, registry


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """A page for the signed-in viewer: layout, nav for their role, CSRF token, sandbox flag."""
    viewer = auth.viewer_of(request)
    full = {
        "viewer": viewer,
        "nav": registry.nav_for(viewer.role),
        "csrf": auth.csrf_for(request),
        "current": request.path,
        "sandbox": request.config_dict[SETTINGS].sandbox,
        **context,
    }
    return aiohttp_jinja2.render_template(template, request, full, status=status)


def see_other(path: str, **params: str) -> web.HTTPSeeOther:
    """After a form's POST: back to a console page, with a notice in its query."""
    if not path.startswith(registry.PREFIX + "/"):
        path = registry.PREFIX + "/"
    return web.HTTPSeeOther(f"{path}?{urlencode(params)}" if params else path)
