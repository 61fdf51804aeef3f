"""Reminders and alerts end to end: /follow through the callback, then two workers tick;
/escalate alerts the rep's department supervisors and the group robot when configured."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.core.db import utcnow
from bot.core.settings import Settings
from bot.sandbox.fake import FakeWeCom
from handlers import reminders as scheduler
from tests.conftest import make_settings
from tests.helpers import say

Clients = Callable[..., Any]


@pytest.fixture
def settings(db_path: Path, fake_server: TestServer) -> Settings:
    """The app under test has a group robot and a public URL; the scheduler waits for us."""
    return make_settings(
        db_path, fake_server, robot_webhook_key="robot-key", scheduler_interval=3600.0,
        public_url="https://sk.example.com",
    )  # fmt: skip


async def test_followup_from_command_reminds_once_across_two_workers(
    fake: FakeWeCom, team: Any, settings: Settings, aiohttp_client: Clients
) -> None:
    assert "提醒你" in await say(fake, "alice", "/follow 张三 回电确认报价 2小时后")
    first: web.Application = team["client"].app
    second: TestClient[web.Request, web.Application] = await aiohttp_client(create_app(settings))
    fake.calls.clear()
    later = utcnow() + timedelta(hours=3)
    results = await asyncio.gather(
        scheduler.tick(first, later), scheduler.tick(second.app, later),
        scheduler.tick(first, later), scheduler.tick(second.app, later),
    )  # fmt: skip
    assert sum(r[0] for r in results) == 1
    (card,) = fake.calls_to("message/send")
    assert card["json"]["touser"] == "alice"
    assert card["json"]["msgtype"] == "textcard"
    assert "回电确认报价" in card["json"]["textcard"]["description"]
    assert card["json"]["textcard"]["url"] == "https://sk.example.com/sidebar/?customer=c1"
    assert await scheduler.tick(second.app, later + timedelta(days=1)) == (0, 0)


async def test_done_before_due_is_never_reminded(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/follow 张三 回电 1小时后")
    number = reply.split("#")[1].split("：")[0]
    assert "已完成" in await say(fake, "alice", f"/done {number}")
    fake.calls.clear()
    assert await scheduler.tick(team["client"].app, utcnow() + timedelta(hours=2)) == (0, 0)
    assert not fake.calls_to("message/send")


async def test_escalation_alerts_department_supervisors_and_robot(
    fake: FakeWeCom, team: Any
) -> None:
    await say(fake, "carol", "/escalate 王五 物流投诉")  # department 2: boss only
    (alert,) = fake.calls_to("message/send")
    assert alert["json"]["touser"] == "boss"
    (robot,) = fake.calls_to("webhook/send")
    assert robot["query"]["key"] == "robot-key"
    assert "物流投诉" in robot["json"]["text"]["content"]
    # The alert went out with the command: the scheduler does not send it again.
    assert await scheduler.tick(team["client"].app) == (0, 0)
    assert len(fake.calls_to("webhook/send")) == 1
