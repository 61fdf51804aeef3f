"""Page 10 in Chromium: the audit log (filters, CSV) and parked work (retry / discard, audited)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB, SETTINGS
from bot.domain.models import AuditLog, Staff
from bot.outbox.model import Effect
from console import staff
from tests.console import seed
from tests.console.conftest import SignIn


async def test_parked_effects_are_retried_and_discarded(
    server: TestServer, sign_in: SignIn
) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/parked")))
    assert await admin.page.locator("[data-effect]").count() == 3
    assert "event" in await admin.page.inner_text("#parked-callbacks")
    await admin.page.locator("[data-effect='1'] button", has_text="重试").click()
    await admin.page.wait_for_url("**/console/parked?done=retry*")
    await admin.page.locator("[data-effect='2'] button", has_text="放弃").click()
    await admin.page.wait_for_url("**/console/parked?done=discard*")
    assert await admin.page.locator("[data-effect]").count() == 1
    async with server.app[DB]() as db:
        assert (await db.get(Effect, 1)).status in ("pending", "sending", "done")  # type: ignore[union-attr]
        assert (await db.get(Effect, 2)).status == "discarded"  # type: ignore[union-attr]
        actions = set(await db.scalars(select(AuditLog.action).where(AuditLog.actor == "boss")))
    assert {"effect_retry", "effect_discard"} <= actions
    # Filtering by kind keeps only that kind.
    await admin.page.goto(str(server.make_url("/console/parked?kind=robot")))
    assert await admin.page.locator("[data-effect]").count() == 0


async def test_audit_log_filters_and_exports(server: TestServer, sign_in: SignIn) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/audit?actor=boss&action=console")))
    text = await admin.page.inner_text("#t-audit")
    assert "console:test" in text
    assert "console.sign_in" in text  # this very sign-in (console.sign_in starts with console)
    await admin.page.goto(str(server.make_url("/console/audit?actor=nobody")))
    assert "暂无数据" in await admin.page.inner_text("#t-audit")
    response = await admin.page.request.get(
        str(server.make_url("/console/audit?actor=boss&format=csv"))
    )
    assert response.status == 200
    assert "console:test" in (await response.body()).decode()


@pytest.mark.parametrize(("seconds", "said"), [
    (0, "成员首次出现时从企业微信读取"), (30, "每 1 分钟同步一次"), (900, "每 15 分钟同步一次"),
    (3600, "每小时同步一次"), (5400, "每 90 分钟同步一次"), (7200, "每 2 小时同步一次"),
    (86400, "每天同步一次"), (172800, "每 2 天同步一次"),
])  # fmt: skip
def test_the_staff_page_says_how_often_the_address_book_is_synced(
    seconds: float, said: str
) -> None:
    """It said 每天同步 while the sync ran hourly (SIDEKICK_DIRECTORY_SYNC, default 3600)."""
    assert staff.sync_note(seconds) == said


async def test_role_change_is_audited(server: TestServer, sign_in: SignIn) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/staff")))
    interval = server.app[SETTINGS].directory_sync_interval
    assert f"企业微信通讯录（{staff.sync_note(interval)}）" in await admin.page.inner_text("main")
    row = admin.page.locator("tr[data-userid='rep2']")
    await row.locator("select[name=role]").select_option("supervisor")
    await row.locator("button", has_text="保存").click()
    await admin.page.wait_for_url("**/console/staff?saved=rep2")
    async with server.app[DB]() as db:
        entry = await db.scalar(select(AuditLog).where(AuditLog.action == "console:role"))
    assert entry is not None
    assert entry.target == "rep2"
    assert entry.detail["before"]["role"] == "rep"
    assert entry.detail["after"]["role"] == "supervisor"
    # The new supervisor can open the console now.
    rep = await sign_in("rep2")
    assert "数据看板" in await rep.page.title()


async def test_departments_are_set_by_name_and_a_wrong_name_changes_nothing(
    server: TestServer, sign_in: SignIn
) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    page = admin.page
    await page.goto(str(server.make_url("/console/staff")))
    field = page.locator("tr[data-userid='rep2'] input[name=departments]")
    assert await field.input_value() == seed.DEPARTMENTS[2]  # shown by name, not as "2"
    await field.fill(f"{seed.DEPARTMENTS[3]}、2")
    await page.locator("tr[data-userid='rep2'] button", has_text="保存").click()
    await page.wait_for_url("**/console/staff?saved=rep2")
    async with server.app[DB]() as db:
        assert (await db.get(Staff, "rep2")).departments == [2, 3]  # type: ignore[union-attr]
    field = page.locator("tr[data-userid='rep2'] input[name=departments]")
    await field.fill("不存在的部门")
    await page.locator("tr[data-userid='rep2'] button", has_text="保存").click()
    await page.wait_for_load_state()
    assert "没有叫「不存在的部门」的部门" in await page.inner_text("body")
    async with server.app[DB]() as db:
        assert (await db.get(Staff, "rep2")).departments == [2, 3]  # type: ignore[union-attr]


async def test_a_role_change_keeps_departments_whose_names_do_not_read_back(
    server: TestServer, sign_in: SignIn
) -> None:
    """Two regions' 销售部, a name with a comma and one of digits: the form writes those as ids,
    so saving only a new role keeps the member's departments instead of failing or changing."""
    from bot.domain.models import Department

    async with server.app[DB].begin() as db:
        db.add_all([Department(id=7, name="销售部", parent_id=1),
                    Department(id=8, name="销售部", parent_id=1),
                    Department(id=9, name="华东,华南", parent_id=1),
                    Department(id=10, name="2024", parent_id=1)])  # fmt: skip
        member = await db.get(Staff, "rep3")
        assert member is not None
        member.departments = [7, 9, 10]
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/staff")))
    row = admin.page.locator("tr[data-userid='rep3']")
    await row.locator("select[name=role]").select_option("supervisor")
    await row.locator("button", has_text="保存").click()
    await admin.page.wait_for_url("**/console/staff?saved=rep3")
    async with server.app[DB]() as db:
        member = await db.get(Staff, "rep3")
        assert member is not None
        assert (member.role, member.departments) == ("supervisor", [7, 9, 10])


async def test_an_unknown_department_id_is_refused_and_changes_nothing(
    server: TestServer, sign_in: SignIn
) -> None:
    """A typo'd id ("99999") used to be stored: a supervisor of no department sees nobody."""
    admin = await sign_in(seed.IDENTITIES["admin"])
    page = admin.page
    await page.goto(str(server.make_url("/console/staff")))
    await page.locator("tr[data-userid='rep2'] input[name=departments]").fill("99999")
    await page.locator("tr[data-userid='rep2'] button", has_text="保存").click()
    await page.wait_for_load_state()
    assert "没有 ID 为 99999 的部门" in await page.inner_text("body")
    async with server.app[DB]() as db:
        assert (await db.get(Staff, "rep2")).departments == [2]  # type: ignore[union-attr]


def test_every_audit_result_reads_in_chinese_on_the_audit_page() -> None:
    """not_found, unknown, usage ... were shown raw: an admin saw English in the 结果 column."""
    import re

    from bot.core.errors import UserError
    from bot.domain import kb_import, lookup  # noqa: F401 - registers their UserError codes
    from bot.web import session  # noqa: F401
    from console.audit import RESULTS
    from handlers.commands import engine  # noqa: F401

    def codes(cls: type[UserError]) -> set[str]:
        return {cls.code}.union(*(codes(sub) for sub in cls.__subclasses__()))

    # The dispatcher's own outcomes (handlers/commands/dispatch.py) and the services' literals.
    recorded = codes(UserError) | {"ok", "error", "unknown", "wecom_error", "failed", "refused"}
    chinese = re.compile("[\u4e00-\u9fff]")
    missing = {code for code in recorded if not chinese.search(RESULTS.get(code, ""))}
    assert not missing
