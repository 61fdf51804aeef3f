"""Sandbox mode with the demo knowledge base: the flows seen through /sandbox/wecom/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app import create_app
from bot.core.keys import DB
from bot.core.settings import Settings
from bot.domain.models import Message
from bot.sandbox.demo import FAKE


@pytest.fixture
async def server(
    db_path: Path,
    aiohttp_unused_port: Callable[[], int],
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> TestServer:
    """The app in sandbox mode (its own fake WeCom under /sandbox/wecom)."""
    port = aiohttp_unused_port()
    settings = Settings(  # type: ignore[call-arg]
        sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}",
        inbox_sweep_interval=3600.0,
    )  # fmt: skip
    return await aiohttp_server(create_app(settings), port=port)


def _fake_url(server: TestServer) -> str:
    return str(server.make_url("/sandbox/wecom")).rstrip("/")


async def _event(http: aiohttp.ClientSession, base: str, event: dict[str, Any]) -> Any:
    async with http.post(f"{base}/_events", json=event) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_sandbox_welcome_and_kf_rule(server: TestServer) -> None:
    base = _fake_url(server)
    async with aiohttp.ClientSession() as http:
        added = await _event(
            http,
            base,
            {
                "type": "add_external_contact",
                "userid": "zhangsan",
                "state": "douyin",
                "name": "小美",
            },  # fmt: skip
        )
        euid = added["external_userid"]
        kf_text = {"type": "kf_text", "open_kfid": "wkDemo", "external_userid": euid,
                   "text": "我是孕妇可以用吗"}  # fmt: skip
        await _event(http, base, kf_text)
        async with http.get(f"{base}/_calls") as resp:
            calls = await resp.json()
    # The address book is read in the background from start-up on, and the SOP scheduler's
    # first pass creates its rules' tags (group "SOP"); the rest is the flow.
    reads = {"cgi-bin/gettoken", "cgi-bin/department/list", "cgi-bin/user/list",
             "cgi-bin/user/get"}  # fmt: skip
    paths = [
        c["path"].removeprefix("cgi-bin/") for c in calls
        if c["path"] not in reads and (c.get("json") or {}).get("group_name") != "SOP"
    ]  # fmt: skip
    assert paths.index("externalcontact/send_welcome_msg") < paths.index(
        "externalcontact/mark_tag"
    )
    assert paths[0] == "externalcontact/send_welcome_msg"
    answered = "kf/send_msg" in paths or "kf/service_state/trans" in paths
    assert answered
    # Two mark_tag calls: the channel's 来源 tag, then the 孕妇 rule's tag.
    fake = server.app[FAKE]
    names = {t["id"]: t["name"] for g in fake.state.groups.values() for t in g["tag"]}
    marked = [names[t] for c in calls if c["path"] == "cgi-bin/externalcontact/mark_tag"
              for t in c["json"]["add_tag"]]  # fmt: skip
    assert marked == ["抖音", "孕期"]


async def test_sandbox_kf_media_enter_session_and_lost_customer(server: TestServer) -> None:
    base = _fake_url(server)
    kf = {"open_kfid": "wkDemo", "external_userid": "wmSandbox1"}
    async with aiohttp.ClientSession() as http:
        await _event(http, base, {"type": "kf_enter_session", **kf})
        await _event(http, base, {"type": "kf_media", "msgtype": "voice", **kf})
        added = await _event(http, base, {"type": "add_external_contact", "userid": "lisi"})
        lost = {"type": "contact_change", "change_type": "del_follow_user", "userid": "lisi",
                "external_userid": added["external_userid"]}  # fmt: skip
        await _event(http, base, lost)
        async with http.get(f"{base}/_calls") as resp:
            calls = await resp.json()
    by_path = {c["path"].removeprefix("cgi-bin/"): c["json"] for c in calls}
    assert by_path["kf/send_msg_on_event"]["msgtype"] == "msgmenu"
    assert "语音" in by_path["kf/send_msg"]["text"]["content"]
    assert by_path["kf/service_state/trans"]["service_state"] == 2  # no servicers: the queue


async def test_sandbox_servicer_reply_reaches_the_customers_timeline(server: TestServer) -> None:
    """The simulator's kf toolbar send: a servicer's reply (origin 5) read back by kf sync."""
    base = _fake_url(server)
    async with aiohttp.ClientSession() as http:
        await _event(http, base, {"type": "kf_text", "open_kfid": "wkDemo",
                                  "external_userid": "wmSVC1", "text": "在吗"})  # fmt: skip
        await _event(http, base, {"type": "kf_servicer_text", "open_kfid": "wkDemo",
                                  "external_userid": "wmSVC1", "servicer": "zhangsan",
                                  "text": "在的，请讲"})  # fmt: skip
    async with server.app[DB]() as session:
        rows = (await session.execute(
            select(Message.direction, Message.userid, Message.text)
            .where(Message.external_userid == "wmSVC1", Message.userid == "zhangsan")
        )).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("out", "zhangsan", "在的，请讲")]
