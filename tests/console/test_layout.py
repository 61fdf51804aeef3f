"""Every console page fits a 1280 px desktop and a phone, with the nav in reach."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from tests.console import routes, seed
from tests.console.conftest import SignIn
from tests.sidebar import browser as chromium


async def test_pages_fit_desktop_and_phone(server: TestServer, sign_in: SignIn) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    for viewport, name in ((chromium.VIEWPORT, "desktop"), (chromium.PHONE, "phone")):
        await tab.page.set_viewport_size(viewport)
        for entry in routes.pages():
            await tab.page.goto(str(server.make_url(entry.example_url())))
            await tab.page.wait_for_load_state("networkidle")
            overflow = await tab.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{entry.path} scrolls sideways on {name}"
            assert await tab.page.locator(".sidenav a").first.is_visible()
            slug = entry.path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
            path = chromium.artifact(f"console-{slug or 'home'}-{name}.png")
            await tab.page.screenshot(path=str(path), full_page=True)
