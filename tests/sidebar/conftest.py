"""Sidebar fixtures: a team with customers, the demo knowledge base, and signing in via OAuth."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.core import db
from bot.core.keys import WECOM
from bot.core.settings import Settings
from bot.domain import tags
from bot.domain.models import Customer, FollowRelation, Staff
from bot.sandbox.fake import FakeWeCom
from knowledge import demo, store
from tests import conftest
from tests.sidebar import browser as chromium

Client = TestClient[web.Request, web.Application]
Login = Callable[[str], Awaitable[str]]

# alice and bob work in department 1 (lead1 supervises it), carol in department 2.
TEAM = [
    ("alice", [1], "rep"),
    ("bob", [1], "rep"),
    ("carol", [2], "rep"),
    ("lead1", [1], "supervisor"),
]
# external_userid, name, rep, state
CUSTOMERS = [
    ("wmalice000001", "张三", "alice", "douyin"),
    ("wmbob00000001", "李四", "bob", ""),
    ("wmcarol000001", "王五", "carol", ""),
]
CORP_TAGS = ["VIP", "老客户", "价格敏感"]


async def seed_kb(path: Path) -> None:
    """Store the demo knowledge base in a database file before the app starts."""
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    async with db.create_sessionmaker(engine).begin() as session:
        await store.replace_kb(session, demo.load_demo())
    await engine.dispose()


@pytest.fixture
async def settings(db_path: Path, fake_server: TestServer) -> Settings:
    """The standard test settings, with the demo knowledge base in the database."""
    await seed_kb(db_path)
    return conftest.make_settings(db_path, fake_server)


async def seed_team(
    session: AsyncSession, fake: FakeWeCom, customers: list[tuple[str, str, str, str]]
) -> None:
    """Staff rows, customers and their follow relations (here and in the fake)."""
    for userid, departments, role in TEAM:
        if await session.get(Staff, userid) is None:
            session.add(
                Staff(userid=userid, name=userid.title(), departments=departments, role=role)
            )
    for euid, name, rep, state in customers:
        session.add(Customer(external_userid=euid, name=name, corp_name="花漾肌研"))
        await session.flush()
        session.add(FollowRelation(userid=rep, external_userid=euid, state=state))
        fake.add_contact(euid, name=name, follow_user=[rep], state=state)
    await session.flush()


@pytest.fixture
async def team(
    client: Client, fake: FakeWeCom, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The team, their customers and a small corp tag library."""
    async with sessionmaker.begin() as session:
        await seed_team(session, fake, CUSTOMERS)
    await tags.ensure_tags(sessionmaker, client.app[WECOM], CORP_TAGS)


def boot_data(html: str) -> dict[str, Any]:
    """The JSON the sidebar page hands its script."""
    found = re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S)
    assert found, "no boot data on the page"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


async def sign_in(client: Client, fake: FakeWeCom, userid: str) -> str:
    """Sign in through the real OAuth flow (code issued by the fake); returns the CSRF token."""
    start = await client.get(
        "/sidebar/auth/login", params={"next": "/sidebar/"}, allow_redirects=False
    )
    assert start.status == 302
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    code = fake.issue_oauth_code(userid)
    back = await client.get(
        "/sidebar/auth/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    assert back.status == 302, await back.text()
    page = await client.get("/sidebar/")
    assert page.status == 200
    csrf: str = boot_data(await page.text())["csrf"]
    return csrf


@pytest.fixture
def login(client: Client, fake: FakeWeCom) -> Login:
    """Sign in as a userid; returns that session's CSRF token."""

    async def run(userid: str) -> str:
        return await sign_in(client, fake, userid)

    return run


# ------------------------------------------------------------------ real browser (sandbox)


@pytest.fixture
async def server(db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any) -> TestServer:
    """The whole product in sandbox mode on a loopback port (fake WeCom on the same server)."""
    port = aiohttp_unused_port()
    settings = Settings(sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}")
    started: TestServer = await aiohttp_server(create_app(settings), port=port)
    return started


@pytest.fixture
async def page(request: pytest.FixtureRequest, server: TestServer) -> AsyncIterator[Any]:
    """A browser page on /sandbox; a screenshot is saved when the test ends."""
    chromium.require_browser()
    dialogs: list[str] = []
    async with chromium.launch() as browser:
        context = await browser.new_context(viewport=chromium.VIEWPORT, locale="zh-CN")
        tab = await context.new_page()
        tab.set_default_timeout(chromium.TIMEOUT)
        tab.on("dialog", lambda d: dialogs.append(d.message))
        tab.dialogs = dialogs
        await tab.goto(str(server.make_url("/sandbox")))
        try:
            yield tab
        finally:
            await tab.screenshot(path=str(chromium.artifact(f"sidebar-{request.node.name}.png")))
            await context.close()
    assert dialogs == [], f"a script ran: {dialogs}"
