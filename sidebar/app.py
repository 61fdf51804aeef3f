"""create_sidebar_app(): the H5 sidebar as a sub-app mounted at /sidebar by bot.app."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core import bodies
from bot.core.keys import SETTINGS
from sidebar import (
    api,
    assist,
    auth,
    errors,
    groups,
    jssdk,
    kb_search,
    lifecycle,
    live,
    routes,
    sandbox,
)

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# Static files carry a content hash in their URL, so browsers may keep them for long.
STATIC_MAX_AGE = 7 * 24 * 3600
# The JS-SDK stand-in and the simulator script: served in sandbox mode only (docs/sidebar.md).
SANDBOX_STATIC = "/sidebar/static/sandbox"


def static_versions() -> dict[str, str]:
    """file name -> short content hash, appended as ?v= to bust caches on change."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


@web.middleware
async def _sandbox_static_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """404 for the sandbox's scripts unless this server is a sandbox."""
    if request.path.startswith(SANDBOX_STATIC) and not request.config_dict[SETTINGS].sandbox:
        raise web.HTTPNotFound()
    return await handler(request)


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    """The one place for the sidebar face's headers: every page it renders (sidebar, error,
    sign-in picker, simulator) gets its CSP; static files a long cache; no sniffing anywhere."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        routes.page_headers(response)  # replaces the server-wide default set before this
    if not request.path.startswith("/sidebar/static/"):
        return
    if request.query.get("v"):
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
    else:
        # Modules imported by relative URL (core.js) carry no hash: always revalidate, so a
        # deploy never pairs a new sidebar.js with a stale core.js.
        response.headers["Cache-Control"] = "no-cache"


def create_sidebar_app() -> web.Application:
    """The sidebar: pages, JSON API, OAuth session, JS-SDK signatures and static files."""
    app = web.Application(
        middlewares=[errors.error_middleware, auth.session_middleware, _sandbox_static_only]
    )
    app[bodies.BODY_ERROR_PAGE] = errors.render
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    versions = static_versions()
    env.globals["static"] = lambda name: f"/sidebar/static/{name}?v={versions.get(name, '0')}"
    app[assist.QUICK_REPLIES] = assist.QuickReplyCache()
    app[live.STREAMS] = live.Streams()
    app.on_shutdown.append(live.end_streams)
    app.on_response_prepare.append(_headers)
    for table in (
        routes.routes, auth.routes, jssdk.routes, api.routes, assist.routes, live.routes,
        groups.routes, sandbox.routes, lifecycle.routes, kb_search.routes,
    ):  # fmt: skip
        app.add_routes(table)
    app.router.add_static("/static", STATIC_DIR, append_version=False)
    return app


async def sandbox_entry(request: web.Request) -> web.Response:
    """GET /sandbox: the simulator lives at /sidebar/sandbox (sandbox mode only)."""
    raise web.HTTPFound("/sidebar/sandbox")
