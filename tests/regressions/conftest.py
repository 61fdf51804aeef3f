"""Regression tests reuse the command tests' seeded team (see tests/commands/conftest.py),
and the sidebar tests' team as `sidebar_team` (see tests/sidebar/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.fake import FakeWeCom
from tests.commands.conftest import team
from tests.sidebar import conftest as sidebar_conftest
from tests.sidebar.conftest import Client

__all__ = ["sidebar_team", "team"]


@pytest.fixture
async def sidebar_team(
    client: Client, fake: FakeWeCom, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """alice, bob, carol and lead1 with their customers (tests/sidebar/conftest.py)."""
    async with sessionmaker.begin() as session:
        await sidebar_conftest.seed_team(session, fake, sidebar_conftest.CUSTOMERS)
