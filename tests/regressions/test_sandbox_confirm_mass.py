"""In the simulator a member can confirm their 企业群发 as in WeCom's 群发助手: an SOP step's
article otherwise waited for a confirmation nobody could give in sandbox mode."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from bot.sandbox.demo import FAKE
from tests.sidebar.conftest import page, server

__all__ = ["page", "server"]


async def test_member_confirms_their_pending_mass(page: Any, server: TestServer) -> None:
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    fake = server.app[FAKE]
    fake.state.mass_tasks["msgX"] = {"sender": "zhangsan", "confirmed": False,
                                     "external_userid": ["wmX"]}  # fmt: skip
    log = page.locator("#app-log")
    await page.click("#confirm-mass")
    await log.locator(".sys").filter(has_text="已在群发助手确认 1 条企业群发").wait_for()
    assert fake.state.mass_tasks["msgX"]["confirmed"] is True
    await page.click("#confirm-mass")
    await log.locator(".sys").filter(has_text="没有待确认的企业群发").wait_for()
