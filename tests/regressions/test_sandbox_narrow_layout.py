"""At 400 px the simulator cut off its 入口 switch ("客…"), wrapped 建客户群 onto two lines,
and the sign-in page broke its 登录 button into 登/录. Nothing may overflow or break a label."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from tests.sidebar import browser as chromium
from tests.sidebar.conftest import page, server

__all__ = ["page", "server"]

NARROW = {"width": 400, "height": 800}
# Visible controls whose box leaves the viewport, or whose label wraps onto a second line
# (text boxes more than half a line apart vertically).
BROKEN_JS = """() => [...document.querySelectorAll("button, a.btn, .seg label, select, input")]
  .filter((n) => n.offsetParent !== null && n.type !== "hidden")
  .map((n) => {
    const r = n.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(n);
    const half = parseFloat(getComputedStyle(n).lineHeight) / 2 || 8;
    const tops = [...range.getClientRects()].map((b) => b.top).sort((a, b) => a - b);
    const lines = tops.filter((t, i) => i === 0 || t - tops[i - 1] > half).length;
    const what = (n.id || n.className || n.tagName) + " " + (n.textContent || "").trim();
    return { what: what.slice(0, 30), right: r.right, lines };
  })
  .filter((r) => r.right > window.innerWidth + 0.5 || r.lines > 1)"""
WIDTH_JS = "() => document.documentElement.scrollWidth"


async def test_simulator_fits_400px(page: Any) -> None:
    await page.set_viewport_size(NARROW)
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    await page.screenshot(path=str(chromium.artifact("sandbox-400.png")), full_page=True)
    assert await page.evaluate(WIDTH_JS) <= NARROW["width"]
    assert await page.evaluate(BROKEN_JS) == []


async def test_sign_in_page_fits_400px(page: Any, server: TestServer) -> None:
    await page.set_viewport_size(NARROW)
    back = str(server.make_url("/sidebar/auth/callback"))
    pick = f"/sidebar/sandbox/authorize?redirect_uri={back}&state=s"
    await page.goto(str(server.make_url(pick)))
    await page.screenshot(path=str(chromium.artifact("sandbox-pick-400.png")), full_page=True)
    assert await page.evaluate(WIDTH_JS) <= NARROW["width"]
    assert await page.evaluate(BROKEN_JS) == []
