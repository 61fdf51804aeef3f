"""create_console_app(): the operator console as a sub-app mounted at /console/ by bot.app."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.core import bodies

# Every module that declares console routes registers them when imported (home, signin, ...).
from console import (  # noqa: F401
    audit,
    channels,
    customers,
    dashboard,
    errors,
    gaps,
    kb,
    kb_proposals,
    kb_tools,
    kb_upload,
    kf_queue,
    lists,
    pool,
    quickreplies,
    registry,
    rules,
    signin,
    sop,
    sop_edit,
    staff,
    stages,
    tag_library,
    welcome_templates,
)

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = ROOT.parent / "templates"
# Third-party browser code from npm (console/package.json + package-lock.json), installed by
# `make run` / `make test` with `npm ci --omit=dev`; served by us, never from a CDN.
NODE_MODULES = ROOT / "node_modules"
VENDOR = {"echarts": NODE_MODULES / "echarts" / "dist"}
STATIC_MAX_AGE = 7 * 24 * 3600

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _versions() -> dict[str, str]:
    """static file name -> short content hash (cache busting with ?v=)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


def vendor_version(package: str) -> str:
    """The installed version of a vendored npm package ("" when not installed)."""
    meta = NODE_MODULES / package / "package.json"
    try:
        return str(json.loads(meta.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return ""


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every console page gets the strict CSP (no inline script or style); static files a
    long cache when their URL carries a version."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return
    if request.path.startswith("/console/static/"):
        cached = request.query.get("v")
        response.headers["Cache-Control"] = (
            f"public, max-age={STATIC_MAX_AGE}, immutable" if cached else "no-cache"
        )


def create_console_app() -> web.Application:
    """The console: pages from the route registry, sign-in, static files and vendored JS."""
    app = web.Application(middlewares=[errors.error_middleware])
    app[bodies.BODY_ERROR_PAGE] = errors.render
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    versions = _versions()
    env.globals["static"] = lambda name: f"/console/static/{name}?v={versions.get(name, '0')}"
    vendor_versions = {name: vendor_version(name) for name in VENDOR}
    env.globals["vendor"] = lambda package, name: (
        f"/console/static/vendor/{package}/{name}?v={vendor_versions.get(package, '0')}"
    )
    app.on_response_prepare.append(_headers)
    registry.add_to(app)
    for package, directory in VENDOR.items():
        if directory.is_dir():
            app.router.add_static(f"/static/vendor/{package}", directory, append_version=False)
        else:
            logger.warning("console: %s is not installed (cd console && npm ci)", package)
    app.router.add_static("/static", STATIC_DIR, append_version=False)
    return app


async def console_entry(request: web.Request) -> web.Response:
    """GET /console: the console's pages live under /console/ (a typed address has no slash)."""
    raise web.HTTPFound("/console/")
