"""「这不是你的客户」 came with a 重新加载 button, which cannot help: reloading shows the same
refusal. A refusal (4xx) is shown without it; failures a retry may fix keep it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestServer

from tests.sidebar import browser as chromium
from tests.sidebar.conftest import page, server

__all__ = ["page", "server"]


async def test_not_your_customer_offers_no_reload(page: Any, server: TestServer) -> None:
    frame = page.frame_locator("#frame")
    await frame.locator("#c-name").filter(has_text="林小姐").wait_for()  # zhangsan's customer
    contact = page.frames[1].url.split("sbx_contact=")[1]
    sidebar = f"/sidebar/?sbx_entry=single_chat_tools&sbx_contact={contact}"
    tab = await page.context.new_page()
    tab.set_default_timeout(chromium.TIMEOUT)
    login = urlencode({"next": sidebar, "as": "lisi"})
    await tab.goto(str(server.make_url(f"/sidebar/auth/login?{login}")))
    notice = tab.locator("#notice")
    await notice.filter(has_text="这不是你的客户").wait_for()
    assert await notice.locator("button, a").count() == 0
    await tab.close()
