"""A knowledge base imported from the command line goes live in running workers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core.keys import DB, KB
from bot.domain import kb
from knowledge import demo, io, store
from tests.conftest import make_settings


async def _wait_for(predicate: Any, seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_cli_import_goes_live_without_a_restart(
    db_path: Path, fake_server: TestServer, aiohttp_client: Any, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(make_settings(db_path, fake_server, kb_poll=0.05)))
    app = client.app
    assert app[KB].snapshot.index.match("我过敏了") == []  # nothing imported yet

    source = tmp_path / "kb.yaml"
    io.write_kb(source, demo.load_demo())
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "knowledge", "import", str(source), "--db",
         f"sqlite+aiosqlite:///{db_path}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    def live() -> bool:
        found = app[KB].snapshot.index.match("我过敏了")
        return bool(found) and found[0].entry.id == "skin-allergy"

    assert await _wait_for(live)  # the revision poll picked the import up


async def test_feedback_here_does_not_trigger_a_rebuild(client: Any) -> None:
    app = client.app
    async with app[DB].begin() as session:
        await store.replace_kb(session, demo.load_demo())
    assert await kb.refresh_if_changed(app)  # the import above
    version = app[KB].snapshot.version
    assert await kb.add_similar(app, "skin-allergy", "脸上起红疙瘩了")
    assert app[KB].snapshot.version == version + 1  # swapped in incrementally
    assert not await kb.refresh_if_changed(app)  # and the poll knows it is current
    assert app[KB].snapshot.index.match("脸上起红疙瘩了")[0].entry.id == "skin-allergy"
