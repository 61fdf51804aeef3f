"""Outbox tests: the sidebar's team, customers, tag library and sign-in, on a manual clock."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.app import create_app
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from tests.sidebar.conftest import login, settings, team

__all__ = ["app", "login", "settings", "team"]


@pytest.fixture
def app(settings: Settings) -> web.Application:
    """The real application; retries and rate windows follow a clock the test moves."""
    return create_app(settings, clock=ManualClock())
