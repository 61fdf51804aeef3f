"""The 公海 pool in Chromium: a supervisor's assignment refused by the fake WeCom shows the
Chinese reason and changes nothing; an admin's assignment moves the customer in WeCom; a
customer is moved into the pool from its page; scope and the claims table."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.core.keys import DB
from bot.domain.lifecycle_models import CustomerMove, PoolEntry
from bot.domain.models import AuditLog
from bot.sandbox import demo
from tests.console import seed
from tests.console.conftest import SignIn

CUSTOMER = "wmcust2000001"


async def _state(server: TestServer) -> tuple[list[tuple[int, str, str]], int]:
    async with server.app[DB]() as db:
        entries = (await db.execute(
            select(PoolEntry.id, PoolEntry.status, PoolEntry.taken_by).order_by(PoolEntry.id)
        )).all()  # fmt: skip
        moves = await db.scalar(select(func.count()).select_from(CustomerMove))
    return [tuple(e) for e in entries], int(moves or 0)  # type: ignore[misc]


def _known_to_wecom(server: TestServer) -> None:
    """The fake knows rep2 follows the customer, so only an injected fault refuses a move."""
    server.app[demo.FAKE].add_contact(CUSTOMER, name="二组客户", follow_user=["rep2"])


async def test_refused_assignment_shows_the_reason_and_changes_nothing(
    server: TestServer, sign_in: SignIn
) -> None:
    _known_to_wecom(server)
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    page = tab.page
    await page.goto(str(server.make_url("/console/pool")))
    assert await page.locator("tr[data-entry='1']").count() == 1
    assert await page.locator("tr[data-entry='2']").count() == 0  # department 3's
    assert seed.DEPT3_SECRET not in await page.inner_text("body")
    # The assignable reps are the supervisor's department only.
    options = await page.locator("tr[data-entry='1'] select option").all_inner_texts()
    assert not any("三组客服" in o for o in options)

    fault = {"path": "externalcontact/transfer_customer", "errcode": 40100}
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url("/sandbox/wecom/_faults"), json=fault) as resp,
    ):
        assert resp.status == 200
    before = await _state(server)
    row = page.locator("tr[data-entry='1']")
    await row.locator("select[name=userid]").select_option("leaver")
    await row.locator("button", has_text="指派").click()
    error = await page.inner_text("#error")
    assert "企业微信拒绝了转接：该客户已在转接流程中（errcode 40100）" in error
    assert "未做任何改动" in error
    assert await _state(server) == before
    assert len(server.app[demo.FAKE].calls_to("externalcontact/transfer_customer")) == 1
    # The refusal is listed with its reason (from the audit log).
    assert "该客户已在转接流程中" in await page.inner_text("#t-refused")

    # Outside the supervisor's departments: neither the customer nor the rep.
    refused = await tab.post("/console/pool/add", {"customer": "wmcust3000001"},
                             await tab.csrf(server))  # fmt: skip
    assert refused == 404
    await page.goto(str(server.make_url("/console/pool")))
    row = page.locator("tr[data-entry='1']")
    await page.evaluate(
        "document.querySelector(\"tr[data-entry='1'] option[value=leaver]\").value = 'rep3'"
    )
    await row.locator("select[name=userid]").select_option("rep3")
    await row.locator("button", has_text="指派").click()
    assert "只能指派给你部门里的员工" in await page.inner_text("#error")
    assert await _state(server) == before


async def test_assignment_moves_the_customer_and_a_customer_goes_back_to_the_pool(
    server: TestServer, sign_in: SignIn
) -> None:
    _known_to_wecom(server)
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/pool")))
    row = page.locator("tr[data-entry='1']")
    await row.locator("select[name=userid]").select_option("sup2")
    await row.locator("button", has_text="指派").click()
    await page.wait_for_url("**/console/pool?done=assigned")
    assert "已指派" in await page.inner_text("#done")
    calls = server.app[demo.FAKE].calls_to("externalcontact/transfer_customer")
    assert [(c["json"]["handover_userid"], c["json"]["takeover_userid"]) for c in calls] == [
        ("rep2", "sup2")
    ]
    async with server.app[DB]() as db:
        entry = await db.get(PoolEntry, 1)
        move = await db.scalar(select(CustomerMove).where(CustomerMove.status == "started"))
    assert entry is not None
    assert (entry.status, entry.taken_by) == ("assigned", "sup2")
    assert move is not None
    assert (move.kind, move.by) == ("assign", "boss")
    assert await page.locator("tr[data-entry='1']").count() == 0
    assert "已发起" in await page.inner_text("#t-moves")
    assert "客户拒绝" in await page.inner_text("#t-moves")  # the seeded failed move, with why

    # Back into the pool from the customer's page.
    await page.goto(str(server.make_url(f"/console/customers/{CUSTOMER}")))
    await page.fill("#customer-card input[name=reason]", "长期未成交")
    await page.click("#customer-card button[type=submit]")
    await page.wait_for_url(f"**/console/customers/{CUSTOMER}?done=pooled")
    assert "在公海中" in await page.inner_text("#customer-card")
    async with server.app[DB]() as db:
        reopened = await db.scalar(
            select(PoolEntry).where(
                PoolEntry.external_userid == CUSTOMER, PoolEntry.status == "open"
            )  # fmt: skip
        )
        added = await db.scalar(select(AuditLog).where(AuditLog.action == "console:pool_add"))
    assert reopened is not None
    assert reopened.reason == "长期未成交"
    assert added is not None
    assert added.target == CUSTOMER
    # Already in the pool: a clear error, nothing added.
    status = await tab.post("/console/pool/add", {"customer": CUSTOMER}, await tab.csrf(server))
    assert status == 400
    assert (await _state(server))[0][-1][1] == "open"
    assert len((await _state(server))[0]) == 3


async def test_pool_filters_and_claims_against_the_limit(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/pool?stage=意向明确")))
    assert await page.locator("tr[data-entry]").count() == 1
    await page.goto(str(server.make_url("/console/pool?stage=报价阶段")))
    assert await page.locator("tr[data-entry='2']").count() == 1
    await page.goto(str(server.make_url("/console/pool?tier=高活跃")))
    assert await page.locator("tr[data-entry]").count() == 0
    await page.goto(str(server.make_url(f"/console/pool?tag=高意向{seed.XSS}")))
    assert await page.locator("tr[data-entry='1']").count() == 1
    assert await page.locator("tr[data-entry='2']").count() == 0
    await page.goto(str(server.make_url("/console/pool")))
    await page.select_option("select[name=dept]", "3")
    await page.click("main form.filters button[type=submit]")
    await page.wait_for_url("**/console/pool?dept=3*")
    assert await page.locator("tr[data-entry='2']").count() == 1
    assert await page.locator("tr[data-entry='1']").count() == 0
    claims = await page.inner_text("#t-claims")
    assert "上限 10 位" in claims
    bad = await page.goto(str(server.make_url("/console/pool?stage=没有的阶段")))
    assert bad is not None
    assert bad.status == 400
    assert "没有阶段「没有的阶段」" in await page.inner_text("body")
