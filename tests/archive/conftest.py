"""Archive puller tests: the real app on the fake WeCom, whose fake archive seals records with
RSA keys generated here; the puller's own RSA code opens them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import create_app
from bot.archive import keyring as keyring_module
from bot.archive.puller import Outcome, Puller
from bot.core.clock import ManualClock
from bot.core.keys import DB
from bot.core.settings import Settings
from bot.domain.archive_models import ArchiveCursor
from bot.domain.models import Message
from bot.sandbox import fake_archive
from bot.sandbox.fake import FakeWeCom
from tests.conftest import make_settings
from tests.flows.conftest import Client, kb_client  # noqa: F401 - the fixture, shared

REPS = ("alice", "bob")


@pytest.fixture
def settings(db_path: Path, fake_server: TestServer) -> Settings:
    """Test settings with small batches and a 30 s lease."""
    return make_settings(db_path, fake_server, archive_batch=200, archive_lease=30.0)


@pytest.fixture
def clock() -> ManualClock:
    """The app's clock (lease expiry is driven by it)."""
    return ManualClock()


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> web.Application:
    """The real application on a manual clock."""
    return create_app(settings, clock=clock)


def keyring_for(tmp_path: Path, versions: Iterable[int]) -> keyring_module.Keyring:
    """The corp's keys as configured in production: odd versions in files, even ones in env."""
    entries, env = [], {}
    for version in versions:
        if version % 2:
            path = tmp_path / f"archive_v{version}.pem"
            path.write_text(fake_archive.pem(version))
            entries.append(f"{version}:{path}")
        else:
            env[f"ARCHIVE_KEY_V{version}"] = fake_archive.pem(version)
            entries.append(f"{version}:env:ARCHIVE_KEY_V{version}")
    return keyring_module.parse(",".join(entries), environ=env)


def puller(app: web.Application, fake: FakeWeCom, keys: keyring_module.Keyring,
           holder: str = "p1") -> Puller:  # fmt: skip
    """A puller on the fake archive of this fake WeCom."""
    return Puller(app, fake_archive.LocalSource(fake.archive), keys, holder=holder)


async def drain(p: Puller, limit: int = 100) -> list[Outcome]:
    """Step until the archive has nothing new."""
    outcomes = []
    for _ in range(limit):
        outcome = await p.step()
        outcomes.append(outcome)
        if outcome.state != "pulled":
            return outcomes
    raise AssertionError("the puller never caught up")


async def cursor_row(client: Client) -> ArchiveCursor:
    """The archive's cursor row."""
    async with client.app[DB]() as session:
        return (await session.scalars(select(ArchiveCursor))).one()


async def message_count(client: Client, direction: str) -> int:
    """Stored archive messages in one direction."""
    async with client.app[DB]() as session:
        return int(await session.scalar(
            select(func.count(Message.id)).where(Message.source == "archive",
                                                 Message.direction == direction)
        ) or 0)  # fmt: skip
