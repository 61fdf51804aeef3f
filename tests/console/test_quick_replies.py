"""The quick-replies page (话术库) in headless Chromium: groups, search, create, edit, delete;
the sidebar's search sees a change at once; supervisors see only their departments' replies."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB, KB
from bot.domain.models import AuditLog
from knowledge import quickreply
from sidebar.assist import QuickReplyCache
from tests.console import seed
from tests.console.conftest import SignIn


def _sidebar_finds(server: TestServer, query: str) -> list[str]:
    """What the sidebar's quick-reply search returns for a rep of department 2."""
    snapshot = server.app[KB].snapshot
    search = QuickReplyCache().get(snapshot)
    viewer = quickreply.Viewer("rep2", ("2",))
    return [h.reply.title for h in search.search(query, viewer=viewer, limit=5)]


async def test_admin_creates_edits_and_deletes_a_quick_reply(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/quick-replies/new")))
    await page.fill("input[name=title]", "节日问候")
    await page.fill("textarea[name=content]", "中秋快乐！本店中秋全场九折。")
    await page.fill("input[name=category]", "节日")
    await page.fill("input[name=shortcut]", "zq")
    await page.click("#reply-form button[type=submit]")
    await page.wait_for_selector("p.notice.ok")
    assert "节日问候" in _sidebar_finds(server, "中秋")
    # Groups and search on the list.
    await page.goto(str(server.make_url("/console/quick-replies")))
    await page.click("nav.groups a:has-text('节日')")
    assert await page.locator("#replies-table tbody tr").count() == 1
    await page.fill("input[name=q]", "九折")
    await page.click("form.filters button[type=submit]")
    await page.click("#replies-table a:has-text('节日问候')")
    await page.fill("input[name=title]", "中秋问候")
    await page.click("#reply-form button[type=submit]")
    await page.wait_for_selector("p.notice.ok")
    assert "中秋问候" in _sidebar_finds(server, "中秋")
    # Bad input: a department reply without a department id changes nothing.
    await page.select_option("select[name=scope]", "department")
    await page.fill("input[name=owner]", "")
    async with page.expect_navigation() as nav:
        await page.click("#reply-form button[type=submit]")
    assert (await nav.value).status == 400
    assert "部门 ID" in await page.inner_text("body")
    assert "中秋问候" in _sidebar_finds(server, "中秋")
    await page.go_back()
    await page.check(".card.danger input[name=confirm]")
    await page.click(".card.danger button[type=submit]")
    await page.wait_for_selector("text=已删除话术")
    assert "中秋问候" not in _sidebar_finds(server, "中秋")
    async with server.app[DB]() as db:
        actions = {a.action for a in await db.scalars(select(AuditLog))}
    assert {"console:reply_create", "console:reply_edit", "console:reply_delete"} <= actions
    assert tab.dialogs == []


async def test_supervisor_sees_corp_and_own_department_replies_only(
    server: TestServer, sign_in: SignIn
) -> None:
    supervisor = await sign_in(seed.IDENTITIES["supervisor"])
    await supervisor.page.goto(str(server.make_url("/console/quick-replies")))
    text = await supervisor.page.inner_text("#replies-table")
    assert "要删的话术" in text
    assert seed.DEPT3_SECRET not in text
    response = await supervisor.page.goto(str(server.make_url("/console/quick-replies/qr-dept3")))
    assert response.status == 404
    assert await supervisor.page.locator("a:has-text('新建话术')").count() == 0
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/quick-replies")))
    assert seed.DEPT3_SECRET in await admin.page.inner_text("#replies-table")
