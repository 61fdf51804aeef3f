"""A first `python -m bot` on a database without migrations.

It printed ~150 lines of SQLAlchemy traceback ending in `no such table` and left an empty .db
file behind. Now: SQLite (the embedded default) is migrated at start, once even when several
workers start together; any other database stops start-up with one line naming the command;
admin commands never create a missing SQLite file.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.core import migrate
from tests import pg
from tests.cli import ROOT, clean_env, run_bot


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def test_sandbox_first_start_creates_the_schema_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = clean_env(SIDEKICK_SANDBOX="1", PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert (out + err).count("schema created") == 1, (out, err)  # said once, in the log
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'sidekick.db'}"
    assert migrate.current(url) == migrate.head()


async def test_postgres_without_schema_stops_with_the_command(tmp_path: Path) -> None:
    async with pg.empty_database() as url:
        proc = await asyncio.to_thread(
            run_bot, cwd=tmp_path, DATABASE_URL=url, SIDEKICK_SANDBOX="1"
        )
        assert migrate.current(url) is None  # nothing was created behind the operator's back
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "python -m bot db upgrade" in lines[0]
    assert "数据库" in lines[0]


def test_two_workers_starting_together_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'sidekick.db'}"
    script = (
        "import sys; from bot.core import migrate; "
        "done = migrate.ensure_schema(sys.argv[1]); print(done.describe() if done else 'found')"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, url], cwd=ROOT, env=clean_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for _ in range(3)
    ]
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], results
    outs = sorted(out.strip() for out, _ in results)
    assert sum("schema created" in out for out in outs) == 1, outs
    assert outs.count("found") == 2, outs
    assert migrate.current(url) == migrate.head()


def test_admin_command_on_a_missing_database_says_what_to_run(tmp_path: Path) -> None:
    proc = run_bot("parked", cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "python -m bot db upgrade" in proc.stderr
    assert not (tmp_path / "data" / "sidekick.db").exists()
