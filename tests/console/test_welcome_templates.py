"""Page 5, welcome templates: create with a live preview (the welcome's own renderer), edit,
delete (refused while a channel uses it); each change audited and live for the next add."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB
from bot.domain import welcome
from bot.domain.models import AuditLog, WelcomeTemplate
from tests.console import seed
from tests.console.conftest import SignIn


async def test_create_with_live_preview_then_edit_and_delete(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/welcome")))
    await page.click("#new-template")
    form = page.locator("#template-form")
    await form.locator("input[name=id]").fill("rep2-hello")
    await form.locator("select[name=scope]").select_option("user")
    await form.locator("input[name=target]").fill("rep2")
    await form.locator("textarea[name=text]").fill("你好{customer}，我是{rep}，{customer|朋友}")
    preview = page.locator("#live-preview [data-preview]")
    expected = welcome.render("你好{customer}，我是{rep}，{customer|朋友}",
                              customer="王小姐", rep=seed.MEMBERS[0][1])  # fmt: skip
    await page.wait_for_function(
        "want => document.querySelector('#live-preview [data-preview]').textContent === want",
        arg=expected,
    )
    assert await preview.inner_text() == expected  # the rep's XSS name is text, not markup
    assert await page.locator("[data-xss]").count() == 0
    # A bad attachment: the preview says why, and saving changes nothing.
    await form.locator("summary").click()
    await form.locator("textarea[name=attachments]").fill('[{"kind": "link"}]')
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    assert "第 1 个附件缺少必填项" in await page.inner_text("body")
    async with server.app[DB]() as db:
        assert await db.get(WelcomeTemplate, "rep2-hello") is None
    await page.goto(str(server.make_url("/console/welcome/new")))
    form = page.locator("#template-form")
    await form.locator("input[name=id]").fill("rep2-hello")
    await form.locator("select[name=scope]").select_option("user")
    await form.locator("input[name=target]").fill("rep2")
    await form.locator("textarea[name=text]").fill("你好{customer}，我是{rep}")
    await form.locator("button[type=submit]").click()
    await page.wait_for_url("**/console/welcome/rep2-hello?saved=created")
    async with server.app[DB]() as db:
        saved = await db.get(WelcomeTemplate, "rep2-hello")
        assert saved is not None
        assert (saved.scope, saved.target) == ("user", "rep2")
        # The welcome picks it for rep2 (a user template beats department and default).
        picked = await welcome.pick_template(db, state="", userid="rep2")
        assert picked is not None
        assert picked.id in ("rep2-hello", "rep2tpl")
    # Edit: disable it.
    await page.locator("#template-form input[name=enabled]").uncheck()
    await page.locator("#template-form button[type=submit]").click()
    await page.wait_for_url("**/console/welcome/rep2-hello?saved=updated")
    # Delete.
    delete = page.locator("form[action='/console/welcome/rep2-hello/delete']")
    await delete.locator("input[name=confirm]").check()
    await delete.locator("button[type=submit]").click()
    await page.wait_for_url("**/console/welcome?saved=deleted")
    async with server.app[DB]() as db:
        assert await db.get(WelcomeTemplate, "rep2-hello") is None
        actions = list(await db.scalars(
            select(AuditLog.action).where(AuditLog.target == "rep2-hello")))  # fmt: skip
    assert actions == ["console:welcome.create", "console:welcome.update",
                       "console:welcome.delete"]  # fmt: skip


async def test_a_template_a_channel_uses_cannot_be_deleted(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/welcome/xsstpl")))
    delete = page.locator("form[action='/console/welcome/xsstpl/delete']")
    await delete.locator("input[name=confirm]").check()
    await delete.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    assert "正在使用这条欢迎语" in await page.inner_text("body")
    async with server.app[DB]() as db:
        assert await db.get(WelcomeTemplate, "xsstpl") is not None
