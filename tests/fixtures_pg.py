"""pytest plugin: `pg_url`, a fresh migrated PostgreSQL database per test.

From env SIDEKICK_TEST_PG_URL (set by `make test`, which starts a throwaway cluster); skipped
without it, except under SIDEKICK_REQUIRE_PG=1 (as `make test` sets), where it fails.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.core import migrate


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, migrated database on the throwaway cluster `make test` starts."""
    base = os.environ.get("SIDEKICK_TEST_PG_URL")
    if not base:
        reason = "needs PostgreSQL: SIDEKICK_TEST_PG_URL (make test sets it)"
        if os.environ.get("SIDEKICK_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    url = make_url(base)
    name = f"sidekick_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    test_url = url.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate.upgrade, test_url)
    yield test_url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


