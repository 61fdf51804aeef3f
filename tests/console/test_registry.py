"""Every console route goes through the registry (so the matrix, XSS, CSP and CSRF tests see
it), and the vendored chart library is served by us from the npm lockfile's version."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from console import app as console_app
from console.registry import ROUTES

CONSOLE = Path(console_app.__file__).parent


def test_every_route_is_registered_with_a_role() -> None:
    app = console_app.create_console_app()
    registered = {(r.method, r.path) for r in ROUTES}
    for resource in app.router.resources():
        if isinstance(resource, web.StaticResource):
            continue
        for handler_route in resource:
            if handler_route.method == "HEAD":
                continue
            key = (handler_route.method, resource.canonical)
            assert key in registered, f"{key} bypasses console.registry.route"
    public = {r.path for r in ROUTES if r.role is None}
    assert public == {"/auth/login", "/auth/callback", "/auth/signed-out"}


def test_changes_declare_a_sample_form() -> None:
    for entry in ROUTES:
        if entry.method == "POST" and entry.path != "/auth/logout":
            assert entry.form, f"{entry.path}: declare form= so the CSRF test can post it"


def test_echarts_is_pinned_in_the_lockfile() -> None:
    package = json.loads((CONSOLE / "package.json").read_text())
    lock = json.loads((CONSOLE / "package-lock.json").read_text())
    version = package["dependencies"]["echarts"]
    assert version[0].isdigit(), "pin an exact version"
    assert lock["packages"]["node_modules/echarts"]["version"] == version


async def test_echarts_is_served_by_us(server: TestServer) -> None:
    assert console_app.vendor_version("echarts"), "run: cd console && npm ci --omit=dev"
    import aiohttp

    async with aiohttp.ClientSession() as http:
        url = server.make_url("/console/static/vendor/echarts/echarts.min.js")
        async with http.get(url) as resp:
            assert resp.status == 200
            assert "javascript" in resp.content_type
