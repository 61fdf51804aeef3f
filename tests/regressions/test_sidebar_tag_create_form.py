"""The sidebar could not create a tag: a supervisor now gets a 「新建并添加」 box under the tag
library (a rep is told to ask a supervisor or admin), in a real browser."""

from __future__ import annotations

from typing import Any

from tests.sidebar import browser as chromium
from tests.sidebar.conftest import page, server

__all__ = ["page", "server"]


async def _library(page: Any, userid: str) -> Any:
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    await page.select_option("#rep", userid)
    frame = page.frame_locator("#frame")
    # Mark the document the frame shows now: signing in again loads a new one, and until it
    # has, the old sidebar's #c-name is still there to be found.
    if await frame.locator("body").count():
        await frame.locator("body").evaluate("body => { body.dataset.stale = '1'; }")
    await page.click("#login")
    await frame.locator("body:not([data-stale]) #c-name").wait_for()
    await frame.locator(".tab[data-tab=profile]").click()
    await frame.locator("#tag-toggle").click()
    return frame


async def test_supervisor_creates_a_tag_in_the_sidebar(page: Any) -> None:
    frame = await _library(page, "zhangsan")
    assert await frame.locator("#tag-new-form").count() == 0
    await frame.locator("#tag-library").filter(has_text="请主管或管理员新建").wait_for()
    # lead1 supervises zhangsan's department: the same customer, with the box.
    await page.select_option("#customer", index=0)
    frame = await _library(page, "lead1")
    await page.screenshot(path=str(chromium.artifact("sidebar-tag-create.png")))
    await frame.locator("#tag-new").fill("到店体验")
    await frame.locator("#tag-new-form button").click()
    await frame.locator("#tags .chip-tag").filter(has_text="到店体验").wait_for()
    await frame.locator("#tag-library [data-tag=到店体验]").wait_for()
