"""Sandbox mode: the fake WeCom is mounted on the server and drives it end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.core.settings import Settings
from handlers.commands.chat import HINT


async def test_app_text_event_round_trip(
    db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    port = aiohttp_unused_port()
    settings = Settings(sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}")
    server = await aiohttp_server(create_app(settings), port=port)
    client = await aiohttp_client(server)

    resp = await client.post(
        "/sandbox/wecom/_events", json={"type": "app_text", "userid": "zhangsan", "text": "你好"}
    )
    assert resp.status == 200
    answer = await resp.json()
    assert answer["status"] == 200
    assert HINT in answer["reply_text"]

    home = await client.get("/")
    assert "沙盒模式" in await home.text()
    # The server reads the address book through its own client (at start-up, and for a
    # member first seen): the calls must land on the fake mounted on this same server.
    resp = await client.post(
        "/sandbox/wecom/_events", json={"type": "app_text", "userid": "zhangsan", "text": "/help"}
    )
    assert "/tag" in (await resp.json())["reply_text"]
    calls = await (await client.get("/sandbox/wecom/_calls")).json()
    members = [(c["query"] or {}).get("userid") for c in calls if c["path"] == "cgi-bin/user/get"]
    listed = [c for c in calls if c["path"] == "cgi-bin/user/list" and c["errcode"] == 0]
    assert "zhangsan" in members or listed


async def test_sandbox_routes_do_not_exist_in_production(client: Any) -> None:
    assert (await client.get("/sandbox/wecom/_calls")).status == 404
    assert (await client.post("/sandbox/wecom/_events", json={})).status == 404


async def test_every_fake_control_route_is_404_in_production(client: Any) -> None:
    """Mass confirm, OAuth codes, faults, the simulator's API: none exists outside the sandbox."""
    for path in ("_oauth", "_groups", "_mass", "_faults"):
        assert (await client.post(f"/sandbox/wecom/{path}", json={})).status == 404, path
    assert (await client.get("/sandbox/wecom/_faults")).status == 404
    assert (await client.get("/sandbox/wecom/wwlogin/sso/login")).status == 404
    for path in ("customers", "groups", "archive", "jssdk-check"):
        assert (await client.post(f"/sidebar/sandbox/api/{path}", json={})).status == 404, path
    assert (await client.get("/sidebar/sandbox")).status == 404


async def test_the_simulators_reads_are_404_in_production(client: Any) -> None:
    """The simulator's GETs (the rep list with their customers, the sign-in stand-in) too."""
    for path in ("/sidebar/sandbox/api/state?userid=zhangsan", "/sidebar/sandbox/authorize",
                 "/sidebar/sandbox/", "/sandbox", "/sandbox/wecom/_calls?x=1"):  # fmt: skip
        assert (await client.get(path)).status == 404, path


async def test_the_simulators_api_refuses_in_json_the_page_can_show(
    db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    """A refusal was the HTML error page: the simulator could only say 「添加失败：HTTP 400」."""
    port = aiohttp_unused_port()
    settings = Settings(sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}")
    client = await aiohttp_client(await aiohttp_server(create_app(settings), port=port))
    resp = await client.post("/sidebar/sandbox/api/customers", json={"userid": "zhangsan"})
    assert resp.status == 400
    assert (await resp.json())["message"] == "请填写客户昵称"
