"""The simulator had no way to talk to the app as a member: trying a slash-command meant
curling /sandbox/wecom/_events. A member pane now sends app_text events through the fake and
shows the passive reply and the app messages that arrive later (message/send)."""

from __future__ import annotations

from typing import Any

from tests.sidebar.conftest import page, server

__all__ = ["page", "server"]


async def _say(page: Any, text: str) -> None:
    await page.fill("#app-text", text)
    await page.click("#app-say button[type=submit]")


async def test_member_runs_commands_and_sees_later_messages(page: Any) -> None:
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    log = page.locator("#app-log")
    await _say(page, "/help")
    await log.locator(".bubble-app").filter(has_text="你可以使用的命令（客服）").wait_for()
    assert "张三（zhangsan）" in await log.locator(".bubble-rep").first.inner_text()
    # An escalation alert is an app message to the supervisor, sent after the reply.
    await _say(page, "/escalate 林小姐 客户要求退款")
    await log.locator(".bubble-app").filter(has_text="已升级").wait_for()
    await page.select_option("#member", "lead1")
    await log.locator(".bubble-app").filter(has_text="【客户升级").wait_for()
    await _say(page, "/escalations")
    await log.locator(".bubble-app").filter(has_text="未处理升级 1 条").wait_for()
    # Switching back shows zhangsan's own conversation again.
    await page.select_option("#member", "zhangsan")
    await log.locator(".bubble-app").filter(has_text="已升级").wait_for()
    assert await log.locator(".bubble-app").filter(has_text="未处理升级").count() == 0
