"""The knowledge-base pages in headless Chromium: edit, create, delete, synonyms, import and
export, the proposals queue and "test a question"; each change is audited and live at once."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB, KB
from bot.domain import kb, kb_admin
from bot.domain.models import AuditLog, KbProposal, Staff
from knowledge import matcher, store
from tests.console import seed
from tests.console.conftest import SignIn
from tests.console.test_explain import signed_in_cookie
from tests.sidebar import browser as chromium


async def _actions(server: TestServer) -> list[str]:
    async with server.app[DB]() as db:
        return [a.action for a in await db.scalars(select(AuditLog).order_by(AuditLog.id))]


async def test_admin_edits_an_entry_and_the_matcher_answers_with_it_at_once(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/kb")))
    await page.fill("input[name=q]", "开发票")
    await page.click("form.filters button[type=submit]")
    await page.click("#kb-table a:has-text('怎么开发票')")
    await page.fill("textarea[name=answer]", "新的开票说明：在订单页点“申请发票”。")
    await page.fill("textarea[name=similar]", "发票怎么开\n能开专票吗")
    await page.click("#entry-form button[type=submit]")
    await page.wait_for_selector("p.notice.ok")
    # This worker's snapshot already answers with it: no restart, no poll.
    match = server.app[KB].snapshot.index.match("怎么开发票")[0]
    assert match.entry.answer == "新的开票说明：在订单页点“申请发票”。"
    assert "能开专票吗" in match.entry.similar
    assert "console:kb_entry_edit" in await _actions(server)
    # "Test a question" shows the same: candidates, channels, confidence and the verdict.
    await page.click("text=测试这个问题")
    await page.wait_for_selector("#test-result")
    assert "新的开票说明" in await page.inner_text("#matched-answer")
    assert await page.locator("#candidates tbody tr").count() >= 1
    verdict = await page.get_attribute("#test-result", "data-action")
    assert verdict == kb_decision(server, "怎么开发票")
    assert "推荐下限" in await page.inner_text("#test-result")
    await page.screenshot(path=str(chromium.artifact("console-kb-test.png")), full_page=True)
    assert tab.dialogs == []
    assert tab.violations == []


def kb_decision(server: TestServer, question: str) -> str:
    """What the pipeline's matcher decides for a question right now."""
    snapshot = server.app[KB].snapshot
    return matcher.decide(snapshot.index.match(question), query=question, rules=snapshot.rules,
                          calibration=snapshot.calibration).action  # fmt: skip


async def test_create_with_bad_input_changes_nothing_then_create_and_delete(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    # A javascript: link is refused with a Chinese error; nothing is stored.
    await _fill_new_entry(page, server, "javascript:alert(1)")
    response = await _submit(page, "#entry-form")
    assert response == 400
    assert "http:// 或 https://" in await page.inner_text("body")
    async with server.app[DB]() as db:
        assert (await store.load_kb(db)).entry("faq-new-one") is None
    await _fill_new_entry(page, server, "https://example.com/pay")
    await _submit(page, "#entry-form")
    await page.wait_for_selector("p.notice.ok")
    assert server.app[KB].snapshot.index.match("猫叫什么名字")[0].entry.id == "faq-new-one"
    await page.check(".card.danger input[name=confirm]")
    await _submit(page, ".card.danger")
    await page.wait_for_selector("text=已删除条目 faq-new-one")
    assert server.app[KB].snapshot.kb.entry("faq-new-one") is None
    actions = await _actions(server)
    assert {"console:kb_entry_create", "console:kb_entry_delete"} <= set(actions)


async def _fill_new_entry(page: Any, server: TestServer, link: str) -> None:
    await page.goto(str(server.make_url("/console/kb/new")))
    await page.fill("input[name=id]", "faq-new-one")
    await page.fill("input[name=question]", "店里的猫叫什么名字")
    await page.fill("textarea[name=answer]", "它叫橘子。")
    await page.click("details summary")
    await page.select_option("select[name=attachment_kind]", "link")
    await page.fill("input[name=attachment_title]", "付款方式")
    # (the browser would refuse a non-URL itself: the server's check is the one tested)
    await page.evaluate("document.querySelector('input[name=attachment_url]').type = 'text'")
    await page.fill("input[name=attachment_url]", link)


async def _submit(page: Any, form: str) -> int:
    """Submit a form by its button and return the final response's status."""
    async with page.expect_navigation() as nav:
        await page.click(f"{form} button[type=submit]")
    response = await nav.value
    return int(response.status)


async def test_supervisor_views_entries_but_cannot_edit(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    await tab.page.goto(str(server.make_url("/console/kb/entries/faq-xss")))
    assert await tab.page.locator("#entry-form fieldset[disabled]").count() == 1
    assert await tab.page.locator("#entry-form button[type=submit]").count() == 0
    token = await tab.csrf(server)
    form = {"question": "改", "answer": "改"}
    assert await tab.post("/console/kb/entries/faq-xss", form, token) == 403


async def test_proposals_accept_in_bulk_then_undo(server: TestServer, sign_in: SignIn) -> None:
    async with server.app[DB].begin() as db:
        for n, wording in enumerate(("发票能寄到公司吗", "电子发票在哪看")):
            db.add(KbProposal(entry_id="pay-invoice", question=wording, question_key=f"k{n}",
                              message_ids=[], reps=["rep2"], status="pending", decided_by="",
                              added=False))  # fmt: skip
    tab = await sign_in(seed.IDENTITIES["supervisor"])  # the /accept command's role
    page = tab.page
    await page.goto(str(server.make_url("/console/kb/proposals")))
    await page.check("#check-all")
    await page.click("button[value=accept]")
    await page.wait_for_selector("#decided")
    assert "已采纳 3 条" in await page.inner_text("#decided")  # the seed's one too
    entry = server.app[KB].snapshot.kb.entry("pay-invoice")
    assert entry is not None
    assert "电子发票在哪看" in entry.similar
    await page.click("a:has-text('已采纳')")
    await page.check("tr:has-text('电子发票在哪看') input[name=id]")
    await page.click("button[value=undo]")
    await page.wait_for_selector("#decided")
    entry = server.app[KB].snapshot.kb.entry("pay-invoice")
    assert entry is not None
    assert "电子发票在哪看" not in entry.similar
    assert "发票能寄到公司吗" in entry.similar
    assert {"kb_accept", "kb_undo"} <= set(await _actions(server))


async def test_synonyms_are_edited_and_reindexed(server: TestServer, sign_in: SignIn) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    await tab.page.goto(str(server.make_url("/console/kb/synonyms")))
    text = await tab.page.input_value("#synonyms")
    await tab.page.fill("#synonyms", text + "\n发票：小票单据")
    await _submit(tab.page, "form.card")
    await tab.page.wait_for_selector("p.notice.ok")
    assert "小票单据" in server.app[KB].snapshot.kb.synonyms.groups["发票"]
    assert server.app[KB].snapshot.index.match("小票单据怎么开")[0].entry.id == "pay-invoice"
    await tab.page.goto(str(server.make_url("/console/kb/synonyms")))
    await tab.page.fill("#synonyms", "这一行没有冒号")
    assert await _submit(tab.page, "form.card") == 400
    assert "第 1 行写法不对" in await tab.page.inner_text("body")
    assert "小票单据" in server.app[KB].snapshot.kb.synonyms.groups["发票"]


async def test_export_then_import_a_file(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/kb/files")))
    # The page states the limit the server applies (it said 1 MB while 20 MB went through).
    limit = f"最大 {kb_admin.UPLOAD_MAX // (1024 * 1024)} MB"
    assert limit in await page.inner_text("#import-form")
    await page.select_option("select[name=format]", "csv")
    await page.select_option("select[name=section]", "entries")
    async with page.expect_download() as download:
        await page.click("#export-form button[type=submit]")
    exported = tmp_path / "entries.csv"
    await (await download.value).save_as(str(exported))
    text = exported.read_text("utf-8-sig")
    assert text.startswith("id,question,similar,answer")
    assert "faq-xss" in text
    # A bad file: every problem listed, nothing imported.
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question,answer\nx1,,没有问题\n", "utf-8")
    await page.set_input_files("#import-form input[type=file]", str(bad))
    await page.click("#import-form button[type=submit]")
    await page.wait_for_selector("#import-error:not([hidden])")
    assert "没有导入任何内容" in await page.inner_text("#import-error")
    assert server.app[KB].snapshot.kb.entry("pay-invoice") is not None
    good = tmp_path / "good.csv"
    good.write_text("id,question,answer\nonly-one,店铺几点关门,晚上十点关门。\n", "utf-8")
    await page.set_input_files("#import-form input[type=file]", str(good))
    await page.click("#import-form button[type=submit]")
    # A preview first; replacing the section (the choice that deletes) has to be picked.
    await page.wait_for_selector("#import-preview")
    assert server.app[KB].snapshot.kb.entry("only-one") is None
    await page.check("input[name=mode][value=replace]")
    await page.screenshot(path=str(chromium.artifact("console-kb-import-replace.png")),
                          full_page=True)  # fmt: skip
    await page.click("#confirm-form button[type=submit]")
    await page.wait_for_selector("#import-done")
    assert "问答条目 新增 1 条" in await page.inner_text("#import-done")
    entries = server.app[KB].snapshot.kb.entries
    assert [e.id for e in entries] == ["only-one"]
    assert server.app[KB].snapshot.kb.rules  # the file held entries only: rules stay
    assert {"console:kb_export", "console:kb_import"} <= set(await _actions(server))


async def test_a_change_made_elsewhere_reaches_the_pages_through_the_revision(
    server: TestServer, sign_in: SignIn
) -> None:
    # The seed wrote rows directly (as another worker would): a reload catches this worker up.
    await kb.refresh_if_changed(server.app)
    tab = await sign_in(seed.IDENTITIES["admin"])
    await tab.page.goto(str(server.make_url("/console/kb/test?q=开票")))
    assert await tab.page.locator("#candidates").count() == 1
    assert await tab.page.locator("[data-xss]").count() == 0


async def test_a_spreadsheet_over_a_megabyte_imports_for_an_admin_but_not_without_a_session(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    rows = [
        f"big-{n},第{n}个问题怎么处理,{'这是一段比较长的标准答案。' * 30}{n}" for n in range(2500)
    ]
    big = tmp_path / "big.csv"
    big.write_text("id,question,answer\n" + "\n".join(rows) + "\n", "utf-8")
    assert big.stat().st_size > 2 * 1024 * 1024  # over the app's 1 MB body limit
    # Without a session the body limit stays 1 MB: refused before the body is read.
    async with aiohttp.ClientSession() as http, http.post(
        server.make_url("/console/kb/import?name=big.csv"),
        data=io.BytesIO(big.read_bytes()),
        headers={"Content-Type": "application/octet-stream"},
    ) as resp:
        assert resp.status == 413
    assert server.app[KB].snapshot.kb.entry("big-0") is None
    tab = await sign_in(seed.IDENTITIES["admin"])
    await tab.page.goto(str(server.make_url("/console/kb/files")))
    await tab.page.set_input_files("#import-form input[type=file]", str(big))
    await tab.page.click("#import-form button[type=submit]")
    await tab.page.wait_for_selector("#import-preview", timeout=60_000)
    assert "2500" in await tab.page.inner_text("#preview-table tr[data-section=entries]")
    await tab.page.click("#confirm-form button[type=submit]")
    await tab.page.wait_for_selector("#import-done", timeout=60_000)
    assert "问答条目 新增 2500 条" in await tab.page.inner_text("#import-done")
    assert server.app[KB].snapshot.kb.entry("big-2499") is not None


async def test_only_a_live_admin_session_lifts_the_body_limit(server: TestServer) -> None:
    """A rep or supervisor (whose console cookie is valid: sign-in issues it to any member) and
    a signed-out session keep the 1 MB limit: 413 before the body is buffered, not 403 after."""
    body = b"x" * (2 * 1024 * 1024)
    headers = {"Content-Type": "application/octet-stream", "Origin": str(server.make_url(""))}
    cookies = [await signed_in_cookie(server, seed.IDENTITIES[w]) for w in ("rep", "supervisor")]
    signed_out = await signed_in_cookie(server, seed.IDENTITIES["admin"])
    async with server.app[DB].begin() as db:
        admin = await db.get(Staff, seed.IDENTITIES["admin"])
        assert admin is not None
        admin.session_epoch += 1
    for cookie in [*cookies, signed_out]:
        url = server.make_url("/console/kb/import?name=big.csv")
        async with aiohttp.ClientSession(cookies=cookie) as http, http.post(
            url, data=io.BytesIO(body), headers=headers
        ) as resp:
            assert resp.status == 413
