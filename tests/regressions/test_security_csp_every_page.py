"""Every HTML page carries a Content-Security-Policy, set in one place per face.

CSP was set by the sidebar page's own view only: the simulator, the error pages, the sandbox's
sign-in picker and the landing page had none.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot import health
from sidebar import routes
from tests.sidebar import browser as chromium
from tests.sidebar.conftest import Client, server, sign_in

__all__ = ["server"]  # the sandbox server fixture
SIDEBAR_CSP = routes._CSP


async def test_pages_of_a_production_server(client: Client, fake: Any) -> None:
    landing = await client.get("/")
    assert landing.headers["Content-Security-Policy"] == health.CSP
    error = await client.get("/sidebar/auth/callback", params={"code": "x", "state": "y"})
    assert (error.status, error.content_type) == (400, "text/html")
    assert error.headers["Content-Security-Policy"] == SIDEBAR_CSP
    await sign_in(client, fake, "alice")
    page = await client.get("/sidebar/")
    assert page.headers["Content-Security-Policy"] == SIDEBAR_CSP
    health_json = await client.get("/healthz")
    assert "Content-Security-Policy" not in health_json.headers  # JSON needs none


async def test_sandbox_pages(server: TestServer, aiohttp_client: Any) -> None:
    client = await aiohttp_client(server)
    simulator = await client.get("/sandbox")
    assert simulator.status == 200
    assert simulator.headers["Content-Security-Policy"] == SIDEBAR_CSP
    login = await client.get("/sidebar/auth/login", allow_redirects=False)
    picker = await client.get(login.headers["Location"])
    assert picker.status == 200
    assert picker.url.path == "/sidebar/sandbox/authorize"
    assert picker.headers["Content-Security-Policy"] == SIDEBAR_CSP
    assert (await client.get("/")).headers["Content-Security-Policy"] == health.CSP


@pytest.mark.parametrize("path", ["/", "/sandbox"])
async def test_pages_render_under_their_policy(server: TestServer, path: str) -> None:
    chromium.require_browser()
    violations: list[str] = []
    async with chromium.launch() as browser:
        tab = await browser.new_page()
        tab.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text
               else None)  # fmt: skip
        await tab.goto(str(server.make_url(path)))
        if path == "/":
            # The inline style is allowed by its hash: the page is laid out as designed.
            width = await tab.evaluate("getComputedStyle(document.body).maxWidth")
            assert width != "none"
        else:
            await tab.locator("#sim[data-ready=true]").wait_for(state="attached")
    assert violations == []
