"""The Procfile's lines as deployed: read them, run them as a platform would, on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import psutil
from sqlalchemy.engine import make_url

from tests import processes

ROOT = processes.ROOT
PROCFILE = ROOT / "Procfile"


def procfile() -> dict[str, str]:
    """The Procfile's process types and their commands, exactly as written."""
    lines: dict[str, str] = {}
    for raw in PROCFILE.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", raw.strip())
        if found:
            lines[found.group(1)] = found.group(2)
    return lines


def _base_env() -> dict[str, str]:
    """The test runner's environment without our settings; this venv's tools on PATH."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("WECOM_", "SIDEKICK_")) and k not in ("WEB_CONCURRENCY",
                                                                      "DATABASE_URL")}  # fmt: skip
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    return base


def production_env(database_url: str, redis_url: str, api_base: str) -> dict[str, str]:
    """A production deployment's settings, WeCom being the standalone fake at api_base."""
    env = processes.production_env(api_base, database_url, REDIS_URL=redis_url)
    return {**env, "PATH": _base_env()["PATH"], "SIDEKICK_KF_SERVICERS": "lisi",
            "SIDEKICK_ADMINS": "boss"}  # fmt: skip


def sandbox_env(database_url: str, redis_url: str, api_base: str) -> dict[str, str]:
    """Sandbox mode (public demo secrets, demo data) sharing the standalone fake at api_base."""
    return {**_base_env(), "SIDEKICK_SANDBOX": "1", "DATABASE_URL": database_url,
            "REDIS_URL": redis_url, "WECOM_API_BASE": api_base, "SIDEKICK_LOG_LEVEL": "WARNING",
            "SIDEKICK_KF_SERVICERS": "lisi", "HOST": "127.0.0.1"}  # fmt: skip


async def run_line(name: str, env: Mapping[str, str], log: Path) -> asyncio.subprocess.Process:
    """Start one Procfile line through the shell (it expands ${PORT}, ${WEB_CONCURRENCY})."""
    handle = log.open("ab")
    try:
        return await asyncio.create_subprocess_shell(
            # exec: the process we signal is the line's own (gunicorn's arbiter), not a shell.
            f"exec {procfile()[name]}", env=dict(env), cwd=str(ROOT),
            stdout=handle, stderr=handle,
        )  # fmt: skip
    finally:
        handle.close()


async def release(env: Mapping[str, str], log: Path) -> None:
    """Run release: to completion; it must succeed."""
    proc = await run_line("release", env, log)
    code = await asyncio.wait_for(proc.wait(), 60)
    assert code == 0, await asyncio.to_thread(log.read_text)


async def fake_wecom(
    env: Mapping[str, str], port: int, callback: str
) -> asyncio.subprocess.Process:
    """`python -m bot fake-wecom`: the one fake every worker shares."""
    args = ("-m", "bot", "fake-wecom", "--port", str(port), "--callback", callback)
    return await processes.start(env, port, args)


def workers(proc: asyncio.subprocess.Process) -> list[psutil.Process]:
    """gunicorn's worker processes under this arbiter."""
    return psutil.Process(proc.pid).children()


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """An empty (unmigrated) database on the throwaway cluster: release: migrates it."""
    base = os.environ.get("SIDEKICK_TEST_PG_URL")
    if not base:
        reason = "needs PostgreSQL: SIDEKICK_TEST_PG_URL (make test sets it)"
        if os.environ.get("SIDEKICK_REQUIRE_PG") == "1":
            raise AssertionError(reason)
        import pytest

        pytest.skip(reason)
    url = make_url(base)
    name = f"sidekick_deploy_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
