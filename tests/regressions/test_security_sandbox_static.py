"""The sandbox's scripts (the JS-SDK stand-in, the simulator) are served in sandbox mode only.

docs/sidebar.md: "Outside sandbox mode the stand-in is never served". The static route served
every file of sidebar/static/, so production answered 200 for sandbox-jssdk.js (a fake `wx`
that takes the customer id from the page URL) and sandbox.js.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.core.settings import Settings
from tests.sidebar.conftest import Client

SANDBOX_FILES = ("sandbox-jssdk.js", "sandbox.js", "%73andbox-jssdk.js")


async def test_sandbox_scripts_are_404_in_production(client: Client) -> None:
    for name in SANDBOX_FILES:
        resp = await client.get(f"/sidebar/static/{name}?v=1")
        assert resp.status == 404, name
    assert (await client.get("/sidebar/static/sidebar.js")).status == 200


async def test_sandbox_scripts_are_served_in_sandbox_mode(
    db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    port = aiohttp_unused_port()
    settings = Settings(sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}")
    client = await aiohttp_client(await aiohttp_server(create_app(settings), port=port))
    for name in SANDBOX_FILES:
        assert (await client.get(f"/sidebar/static/{name}")).status == 200, name
