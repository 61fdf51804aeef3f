"""Throwaway PostgreSQL databases on the cluster `make test` starts (SIDEKICK_TEST_PG_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url


def base_url() -> str:
    """The cluster's URL; skips (or fails, when PostgreSQL is required) without one."""
    base = os.environ.get("SIDEKICK_TEST_PG_URL")
    if not base:
        reason = "needs PostgreSQL: SIDEKICK_TEST_PG_URL (make test sets it)"
        if os.environ.get("SIDEKICK_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return base


@asynccontextmanager
async def empty_database() -> AsyncIterator[str]:
    """The URL of a new, empty database (no schema), dropped afterwards."""
    url = make_url(base_url())
    name = f"sidekick_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
