"""Shared fixtures: a fake WeCom on loopback, a migrated SQLite file, the app and a client."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.core import migrate
from bot.core.keys import DB
from bot.core.settings import Settings
from bot.sandbox.fake import FakeWeCom
from tests import helpers

pytest_plugins = ["tests.fixtures_redis", "tests.fixtures_pg"]

CORP_ID = "wwtestcorp000001"
AGENT_ID = 1000002
SECRET = "test-secret"
TOKEN = "testtoken"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
INGEST_TOKEN = "test-ingest-token"
SESSION_SECRET = "test-session-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per test session; each test gets a copy (fast and real)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_path(tmp_path: Path, template_db: Path) -> Path:
    """A fresh, migrated database file for this test."""
    path = tmp_path / "sidekick.db"
    shutil.copy(template_db, path)
    return path


@pytest.fixture
def fake() -> FakeWeCom:
    """The fake WeCom, with the same credentials as the app under test."""
    return FakeWeCom(
        corp_id=CORP_ID, secret=SECRET, token=TOKEN, aes_key=AES_KEY, agent_id=AGENT_ID
    )


@pytest.fixture
async def fake_server(
    fake: FakeWeCom, aiohttp_server: Callable[..., asyncio.Future[TestServer]]
) -> TestServer:
    """The fake served on a loopback port."""
    return await aiohttp_server(fake.app)


def make_settings(db_path: Path, fake_server: TestServer, **overrides: object) -> Settings:
    """Settings for an app that talks to the fake and stores in db_path."""
    values: dict[str, object] = {
        "corp_id": CORP_ID,
        "agent_id": AGENT_ID,
        "secret": SECRET,
        "token": TOKEN,
        "aes_key": AES_KEY,
        "database_url": f"sqlite+aiosqlite:///{db_path}",
        "wecom_api_base": str(fake_server.make_url("")).rstrip("/"),
        "inbox_sweep_interval": 3600.0,
        # Tests that want the periodic address-book sync turn it on (or call it) themselves.
        "directory_sync_interval": 0.0,
        "ingest_token": INGEST_TOKEN,
        "session_secret": SESSION_SECRET,
        "admins": "boss",
        "supervisors": "lead1",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(db_path: Path, fake_server: TestServer) -> Settings:
    """Settings of the app under test."""
    return make_settings(db_path, fake_server)


@pytest.fixture
def app(settings: Settings) -> web.Application:
    """The real application, built by the same factory production uses."""
    return create_app(settings)


@pytest.fixture
async def client(
    app: web.Application,
    fake: FakeWeCom,
    aiohttp_client: Callable[..., asyncio.Future[TestClient[web.Request, web.Application]]],
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """A client on the running app; the fake sends its callbacks to this app."""
    test_client = await aiohttp_client(app)
    fake.callback_url = str(test_client.make_url("/wecom/callback"))
    helpers.APPS[id(fake)] = app
    yield test_client
    helpers.APPS.pop(id(fake), None)


@pytest.fixture
def sessionmaker(
    client: TestClient[web.Request, web.Application],
) -> async_sessionmaker[AsyncSession]:
    """The running app's session factory, for looking at what was stored."""
    return client.app[DB]


@pytest.fixture
async def db_session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session on the app's database (read what the app wrote)."""
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def aiohttp_unused_port(unused_tcp_port_factory: Callable[[], int]) -> Callable[[], int]:
    """A free loopback port, for apps that must know their port (sandbox mode)."""
    return unused_tcp_port_factory
