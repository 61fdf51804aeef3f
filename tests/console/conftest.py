"""Console fixtures: the whole product in sandbox mode, a seeded org, signed-in browser tabs.

The org (see seed.py): department 2 with rep2 and supervisor sup2, department 3 with rep3 and
its customer, the admin boss, a member who left (gone) and one who leaves mid-session (leaver).
Every name the console shows carries an XSS payload.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core.keys import DB, SETTINGS
from bot.core.settings import Settings
from bot.sandbox import demo
from bot.web import session as sess
from console import auth
from tests.console import seed
from tests.sidebar import browser as chromium

SignIn = Callable[[str], Awaitable[Any]]


@pytest.fixture
async def server(db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any) -> TestServer:
    """The product in sandbox mode on a loopback port, with the console's test org seeded."""
    port = aiohttp_unused_port()
    settings = Settings(sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}")
    app = create_app(settings)
    seed.address_book(app[demo.FAKE])
    started: TestServer = await aiohttp_server(app, port=port)
    await seed.wait_for_directory(app[DB])
    async with app[DB].begin() as db:
        await seed.org(db)
    return started


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the test."""
    chromium.require_browser()
    async with chromium.launch() as running:
        yield running


class Tab:
    """A signed-in browser context: its page, the dialogs and CSP violations it saw."""

    def __init__(self, context: Any, page: Any, userid: str) -> None:
        self.context, self.page, self.userid = context, page, userid
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.violations.append(message.text)

    async def csrf(self, server: TestServer) -> str:
        """This context's CSRF token, computed from its session cookie as the server does."""
        cookies = {c["name"]: c["value"] for c in await self.context.cookies()}
        secret = server.app[SETTINGS].session_secret.get_secret_value()
        found = sess.read_session(secret, cookies.get(auth.COOKIE), time.time())
        assert found is not None, "not signed in"
        return sess.csrf_token(secret, found)

    async def post(self, url: str, form: dict[str, str], token: str | None) -> int:
        """POST a form from this page with fetch (no redirect following); 303 for a redirect."""
        status: int = await self.page.evaluate(
            """async ([url, form, token]) => {
                const headers = token === null ? {} : {"X-CSRF-Token": token};
                const resp = await fetch(url, {method: "POST", headers, redirect: "manual",
                    body: new URLSearchParams(form), credentials: "same-origin"});
                return resp.type === "opaqueredirect" ? 303 : resp.status;
            }""",
            [url, form, token],
        )
        return status


@pytest.fixture
async def sign_in(server: TestServer, browser: Any) -> AsyncIterator[SignIn]:
    """Open a new browser context signed in as a member (None: not signed in at all)."""
    contexts: list[Any] = []

    async def run(userid: str | None) -> Tab:
        context = await browser.new_context(viewport=chromium.VIEWPORT, locale="zh-CN")
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(chromium.TIMEOUT)
        tab = Tab(context, page, userid or "")
        if userid is None:
            await page.goto(str(server.make_url("/console/auth/signed-out")))
        else:
            await page.goto(str(server.make_url(f"/console/auth/login?as={userid}")))
        return tab

    yield run
    for context in contexts:
        await context.close()
