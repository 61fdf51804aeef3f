"""Sandbox mode: "/help" posted through the fake's _events endpoint, by role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.settings import Settings


async def _help(client: Any, userid: str) -> str:
    resp = await client.post(
        "/sandbox/wecom/_events", json={"type": "app_text", "userid": userid, "text": "/help"}
    )
    assert resp.status == 200
    answer = await resp.json()
    text = answer["reply_text"]
    if text:
        return str(text)
    calls = await (await client.get("/sandbox/wecom/_calls")).json()  # replied late, actively
    sent = [c for c in calls if c["path"] == "cgi-bin/message/send"]
    return str(sent[-1]["json"]["text"]["content"])


async def test_sandbox_help_by_role(
    db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    port = aiohttp_unused_port()
    settings = Settings(  # type: ignore[call-arg]
        sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}",
        supervisors="lead1",
    )  # fmt: skip
    server = await aiohttp_server(create_app(settings), port=port)
    client = await aiohttp_client(server)

    rep = await _help(client, "zhangsan")
    assert "/tag" in rep
    assert "/follow" in rep
    assert "/stats" not in rep
    assert "/assign" not in rep

    lead = await _help(client, "lead1")
    for name in ("/tag", "/follow", "/stats", "/assign", "/transfer", "/escalations"):
        assert name in lead
