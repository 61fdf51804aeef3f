"""Sandbox mode: "/help" posted through the fake's _events endpoint, by role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yarl import URL

from bot.app import create_app
from bot.core.settings import Settings


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


async def _sign_in(client: Any, userid: str) -> None:
    """The sandbox's OAuth stand-in, then the normal callback (the cookie stays in client)."""
    start = await client.get(
        "/sidebar/auth/login", params={"next": "/sidebar/", "as": userid}, allow_redirects=False
    )
    pick = await client.get(start.headers["Location"], allow_redirects=False)
    target = URL(pick.headers["Location"])  # absolute: the stand-in redirects to our origin
    back = await client.get(target.relative(), allow_redirects=False)
    assert back.status == 302, await back.text()


async def test_sandbox_demo_org_works_out_of_the_box(
    db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    port = aiohttp_unused_port()
    settings = Settings(  # type: ignore[call-arg]
        sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}",
        inbox_sweep_interval=3600.0,
    )  # fmt: skip
    assert (settings.supervisors, settings.admins) == ("lead1", "boss")
    server = await aiohttp_server(create_app(settings), port=port)
    client = await aiohttp_client(server)

    assert "/stats" in await _help(client, "lead1")
    assert "/role" in await _help(client, "boss")
    events = "/sandbox/wecom/_events"
    mine = await client.post(events, json={"type": "add_external_contact", "userid": "zhangsan",
                                           "name": "小美"})  # fmt: skip
    other = await client.post(events, json={"type": "add_external_contact", "userid": "wangwu",
                                            "name": "小丽"})  # fmt: skip
    mine_id = (await mine.json())["external_userid"]
    other_id = (await other.json())["external_userid"]

    await _sign_in(client, "lead1")
    card = await client.get(f"/sidebar/api/customers/{mine_id}")
    assert card.status == 200
    assert (await card.json())["customer"]["followed_by_names"] == ["张三（zhangsan）"]
    assert (await client.get(f"/sidebar/api/customers/{other_id}")).status == 403
