"""The two-step KB import in headless Chromium: upload, preview (nothing written), confirm.

A 2-row CSV must not silently delete the other entries: the preview counts what would be
added, changed, removed and kept, "merge" (keep the others) is the default, "replace" lists
what it deletes, a preview made stale by another change is refused, and a pending upload
belongs to the session of the admin who made it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.errors import NotFoundError
from bot.core.keys import CACHE, DB, KB
from bot.domain import kb, kb_import
from bot.domain.models import AuditLog, KbProposal, Staff
from knowledge import store, store_edit
from knowledge import text as textmod
from knowledge.model import Synonyms
from tests.console import seed
from tests.console.conftest import SignIn, Tab
from tests.sidebar import browser as chromium

NEW_ROW = "imp-new,店铺几点关门,晚上十点关门。"
EDITED_ROW = "faq-delete-me,要删的问题,改过的答案"


async def _audits(server: TestServer) -> list[AuditLog]:
    async with server.app[DB]() as db:
        return list(await db.scalars(
            select(AuditLog).where(AuditLog.action == "console:kb_import")))  # fmt: skip


async def _stored(server: TestServer) -> tuple[int, list[str]]:
    async with server.app[DB]() as db:
        return await store.revision(db), [e.id for e in (await store.load_kb(db)).entries]


async def _accept_a_reps_pick(server: TestServer) -> None:
    """faq-xss's similar question came from reps' picks (an accepted proposal)."""
    async with server.app[DB].begin() as db:
        question = seed.KB_ENTRY.similar[0]
        db.add(KbProposal(
            entry_id="faq-xss", question=question, question_key=textmod.normalize(question),
            message_ids=[], reps=["rep2", "rep3"], status="accepted", decided_by="", added=True,
        ))  # fmt: skip


async def _upload(tab: Tab, server: TestServer, path: Path) -> None:
    await tab.page.goto(str(server.make_url("/console/kb/files")))
    await tab.page.set_input_files("#import-form input[type=file]", str(path))
    await tab.page.click("#import-form button[type=submit]")
    await tab.page.wait_for_selector("#import-preview")


def _csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "few.csv"
    path.write_text("id,question,answer\n" + "\n".join(rows) + "\n", "utf-8")
    return path


async def _figures(page: Any) -> dict[str, str]:
    row = page.locator("#preview-table tr[data-section=entries]")
    return {k: await row.locator(f"[data-{k}]").inner_text()
            for k in ("added", "changed", "unchanged", "absent")}  # fmt: skip


async def test_a_small_csv_previews_first_and_merges_by_default(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    await _accept_a_reps_pick(server)
    before = await _stored(server)
    tab = await sign_in(seed.IDENTITIES["admin"])
    await _upload(tab, server, _csv(tmp_path, NEW_ROW, EDITED_ROW))
    page = tab.page
    # The preview: by id against the stored entries; nothing written yet.
    absent = len(before[1]) - 1
    assert await _figures(page) == {"added": "1", "changed": "1", "unchanged": "0",
                                    "absent": str(absent)}  # fmt: skip
    assert "还没有写入任何内容" in await page.inner_text("#import-preview")
    assert await _stored(server) == before
    assert await _audits(server) == []
    assert server.app[KB].snapshot.kb.entry("imp-new") is None
    # The safe choice is the default; the replace warning names what it would delete, and
    # the similar question the reps' picks gathered.
    assert await page.is_checked("input[name=mode][value=merge]")
    warning = await page.inner_text("#replace-warning")
    assert f"将删除 {absent} 条现有内容" in warning
    assert "其中 1 条是客服确认、已采纳的客户问法" in warning
    listed = page.locator("table[data-removed=entries] tbody tr")
    assert await listed.count() == min(absent, kb_import.ABSENT_SHOWN)
    first_absent = next(i for i in before[1] if i != "faq-delete-me")
    assert first_absent in await page.inner_text("table[data-removed=entries]")
    assert await page.locator("[data-xss]").count() == 0
    await page.screenshot(path=str(chromium.artifact("console-kb-import-preview.png")),
                          full_page=True)  # fmt: skip
    await page.click("#confirm-form button[type=submit]")
    await page.wait_for_selector("#import-done")
    done = await page.inner_text("#import-done")
    assert "问答条目 新增 1 条、更新 1 条、删除 0 条" in done
    assert f"保留文件里没有的 {absent - 0} 条" in done
    revision, ids = await _stored(server)
    assert revision > before[0]
    assert set(ids) == {*before[1], "imp-new"}  # nobody's entries were deleted
    snapshot = server.app[KB].snapshot.kb
    assert snapshot.entry("imp-new") is not None
    assert snapshot.entry("faq-delete-me").answer == "改过的答案"  # type: ignore[union-attr]
    [audit] = await _audits(server)
    assert audit.detail["mode"] == "merge"
    assert audit.detail["sections"][0]["removed"] == 0
    # The token was used up: a second confirmation of it is refused.
    token = await page.evaluate("new URL(location.href).searchParams.get('done')")
    csrf = await tab.csrf(server)
    assert await tab.post("/console/kb/import/confirm", {"token": token}, csrf) == 404
    assert tab.dialogs == []
    assert tab.violations == []


async def test_replace_deletes_exactly_what_the_preview_listed(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    await _upload(tab, server, _csv(tmp_path, NEW_ROW, EDITED_ROW))
    page = tab.page
    absent = int((await _figures(page))["absent"])
    await page.check("input[name=mode][value=replace]")
    button = await page.inner_text("#confirm-import")
    assert f"确认整体替换（删除 {absent} 条）" in button
    await page.click("#confirm-form button[type=submit]")
    await page.wait_for_selector("#import-done")
    assert f"删除 {absent} 条" in await page.inner_text("#import-done")
    _, ids = await _stored(server)
    assert ids == ["imp-new", "faq-delete-me"]
    assert [e.id for e in server.app[KB].snapshot.kb.entries] == ids
    assert server.app[KB].snapshot.kb.rules  # the file held entries only: rules stay
    [audit] = await _audits(server)
    assert audit.detail["mode"] == "replace"
    assert audit.detail["sections"][0]["removed"] == absent


async def test_a_preview_made_stale_by_another_edit_is_refused(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    await _upload(tab, server, _csv(tmp_path, NEW_ROW))
    # Meanwhile a rep's pick is accepted into an entry the file lacks (as another worker would).
    async with server.app[DB].begin() as db:
        assert await store.add_similar_question(db, "faq-xss", "能开发票吗新问法")
    before = await _stored(server)
    await tab.page.check("input[name=mode][value=replace]")
    async with tab.page.expect_navigation() as nav:
        await tab.page.click("#confirm-form button[type=submit]")
    assert (await nav.value).status == 409
    text = await tab.page.inner_text("#import-problem")
    assert "预览之后知识库又被修改过" in text
    assert "请重新上传文件" in text
    assert await _stored(server) == before  # nothing written
    assert await _audits(server) == []
    # The refused upload is gone: its preview asks for a new upload.
    await tab.page.go_back()
    await tab.page.reload()
    assert "请重新上传文件" in await tab.page.inner_text("#import-problem")
    # A preview opened after the change says so at once, with no confirm button.
    await _upload(tab, server, _csv(tmp_path, NEW_ROW))
    async with server.app[DB].begin() as db:
        await store.add_similar_question(db, "faq-xss", "再一个新问法")
    await tab.page.reload()
    assert "预览之后知识库又被修改过" in await tab.page.inner_text("#import-stale")
    assert await tab.page.locator("#confirm-form").count() == 0


async def test_a_pending_upload_belongs_to_its_admin_and_session(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    async with server.app[DB].begin() as db:
        db.add(Staff(userid="boss2", name="第二位管理员", departments=[1], role="admin"))
    owner = await sign_in(seed.IDENTITIES["admin"])
    await _upload(owner, server, _csv(tmp_path, NEW_ROW))
    url = owner.page.url
    token = await owner.page.input_value("#confirm-form input[name=token]")
    before = await _stored(server)
    # Another admin, the same admin in another session, a supervisor, a rep: all refused.
    other = await sign_in("boss2")
    again = await sign_in(seed.IDENTITIES["admin"])
    for tab in (other, again):
        await tab.page.goto(url)
        assert "已过期或不存在" in await tab.page.inner_text("#import-problem")
        form = {"token": token, "mode": "replace"}
        assert await tab.post("/console/kb/import/confirm", form, await tab.csrf(server)) == 404
        assert await tab.post("/console/kb/import/cancel", {"token": token},
                              await tab.csrf(server)) == 303  # fmt: skip
    for role in ("supervisor", "rep"):
        tab = await sign_in(seed.IDENTITIES[role])
        form = {"token": token, "mode": "replace"}
        assert await tab.post("/console/kb/import/confirm", form, await tab.csrf(server)) == 403
    # Without the CSRF token even the owner is refused.
    assert await owner.post("/console/kb/import/confirm", {"token": token}, None) in (400, 403)
    assert await _stored(server) == before
    # Still pending for its owner (the others' cancel did not touch it); cancel drops it.
    await owner.page.reload()
    await owner.page.click("#cancel-form button[type=submit]")
    await owner.page.wait_for_url("**/console/kb/files")
    assert await server.app[CACHE].get(kb_import.draft_key(token)) is None
    assert await _stored(server) == before


async def test_a_new_upload_replaces_the_admins_earlier_pending_one(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    await _upload(tab, server, _csv(tmp_path, NEW_ROW))
    first = await tab.page.input_value("#confirm-form input[name=token]")
    await _upload(tab, server, _csv(tmp_path, EDITED_ROW))
    assert await server.app[CACHE].get(kb_import.draft_key(first)) is None
    await kb.refresh_if_changed(server.app)


async def test_a_double_submitted_confirmation_is_taken_once(server: TestServer) -> None:
    cache = server.app[CACHE]
    token = await kb_import.save_draft(
        cache, actor="boss", nonce="n1", name="few.csv", data=b"id,question\n", fingerprint="f",
        preview={"sections": [], "absent": 0},
    )  # fmt: skip
    draft = await kb_import.load_draft(cache, token, actor="boss", nonce="n1")
    await kb_import.claim(cache, draft)
    with pytest.raises(NotFoundError):
        await kb_import.claim(cache, draft)
    await kb_import.release(cache, draft)  # a failed confirmation can be tried again
    await kb_import.claim(cache, draft)


async def test_removed_synonym_groups_are_listed_by_their_standard_word(
    server: TestServer, sign_in: SignIn, tmp_path: Path
) -> None:
    """A synonym group has no 编号: the removal list's first column is its 标准词."""
    async with server.app[DB].begin() as db:
        await store_edit.replace_synonyms(db, Synonyms({"快递": ("物流", "包裹")}))
    path = tmp_path / "synonyms.csv"
    path.write_text("canonical,variants\n新词,说法一|说法二\n", "utf-8")
    tab = await sign_in(seed.IDENTITIES["admin"])
    await _upload(tab, server, path)
    removed = tab.page.locator("table[data-removed=synonyms]")
    assert await removed.locator("thead th").all_inner_texts() == ["标准词", "同义词"]
    assert "快递" in await removed.locator("tbody").inner_text()
    assert "同义词按标准词" in await tab.page.inner_text("#import-preview")
