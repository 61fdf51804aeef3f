"""Headless Chromium for the real-browser tests (Debian's chromium, driven by playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SIDEKICK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT = 15_000
VIEWPORT = {"width": 1280, "height": 900}  # the simulator: chat and sidebar side by side
PHONE = {"width": 360, "height": 740}  # the narrowest phone the sidebar must fit


def require_browser() -> None:
    """Skip when chromium or playwright is missing, unless the run requires a browser."""
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"chromium ({CHROMIUM})")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if not missing:
        return
    why = "browser tests need " + " and ".join(missing)
    if os.environ.get("SIDEKICK_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
        pytest.fail(why + " (SIDEKICK_REQUIRE_BROWSER / CI is set)")
    pytest.skip(why)


@asynccontextmanager
async def launch() -> AsyncIterator[Any]:
    """A running headless Chromium (playwright Browser)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def artifact(name: str) -> Path:
    """Where a screenshot named `name` goes (test-artifacts/, gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


async def add_customer(page: Any, name: str) -> Any:
    """Add a customer on the simulator; returns the sidebar frame showing them."""
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    await page.fill("#new-name", name)
    await page.click("#new-customer button[type=submit]")
    frame = page.frame_locator("#frame")
    await frame.locator("#c-name").filter(has_text=name).wait_for()
    return frame


async def sidebar_alone(page: Any, viewport: Any = None) -> Any:
    """The sidebar the simulator shows, opened on its own tab (same sign-in) at phone width."""
    url = page.frames[1].url
    tab = await page.context.new_page()
    tab.set_default_timeout(TIMEOUT)
    await tab.set_viewport_size(viewport or PHONE)
    await tab.goto(url)
    await tab.locator("#c-name").wait_for()
    return tab
