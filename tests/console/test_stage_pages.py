"""Stages in Chromium: the funnel (ECharts) and conversion per period, department and rep, each
figure linked to its customers; the customer lists' stage, tier and tag filters; a customer's
lifecycle page; the lifecycle settings shown read-only."""

from __future__ import annotations

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB, SETTINGS
from bot.domain.lifecycle_models import StageChange
from tests.console import seed
from tests.console.conftest import SignIn


async def test_funnel_drills_down_to_customers_and_lists_filter_by_stage_tier_and_tag(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    page = tab.page
    await page.goto(str(server.make_url("/console/stages")))
    await page.wait_for_selector("#chart-funnel canvas")  # ECharts drew the funnel
    assert await page.locator("#chart-conversion canvas").count() == 1
    kpi = page.locator("#stage-kpis a", has_text="意向明确")
    assert (await kpi.locator(".kpi-value").inner_text()).strip() == "1"
    # Department 3's customer (报价阶段) is not counted for this supervisor.
    quoted = page.locator("#stage-kpis a", has_text="报价阶段")
    assert (await quoted.locator(".kpi-value").inner_text()).strip() == "0"
    rep2 = page.locator("#t-reps tbody tr", has_text="（rep2）").locator("td")
    assert (await rep2.all_inner_texts())[1:] == ["0", "1", "0", "0", "0"]
    assert "SIDEKICK_POOL_DAILY_CLAIMS" in await page.inner_text("#lifecycle-settings")
    assert "初步了解 → 意向明确" in await page.inner_text("#lifecycle-settings")
    await kpi.click()
    await page.wait_for_url("**/console/customers?stage=*")
    listed = await page.inner_text("#t-customers")
    assert "二组客户" in listed
    assert "意向明确" in listed

    # The tier and tag filters (the seeded customer has never written: 未互动).
    for query, shown in (
        ({"tier": "未互动"}, True), ({"tier": "高活跃"}, False),
        ({"tag": f"高意向{seed.XSS}"}, True), ({"tag": "没有这个标签"}, False),
        ({"stage": "已成交"}, False), ({"rep": "rep2", "stage": "意向明确"}, True),
    ):  # fmt: skip
        await page.goto(str(server.make_url(f"/console/customers?{urlencode(query)}")))
        assert ("二组客户" in await page.inner_text("#t-customers")) is shown, query
    csv = await page.request.get(str(server.make_url("/console/customers?format=csv")))
    assert "二组客户" in (await csv.body()).decode("utf-8-sig")

    # The customers behind "reached 意向明确" in the day of the change.
    async with server.app[DB]() as db:
        change = await db.scalar(select(StageChange).where(StageChange.to_stage == "意向明确"))
    assert change is not None
    tz = ZoneInfo(server.app[SETTINGS].timezone)
    day = change.at.astimezone(tz).strftime("%Y-%m-%d")
    await page.goto(str(server.make_url(f"/console/stages?grain=day&date={day}")))
    await page.locator("#t-conversion td a").nth(0).click()
    await page.wait_for_url("**/console/stages/reached?*")
    assert "二组客户" in await page.inner_text("#t-reached")

    # One customer's lifecycle; another department's customer is not found.
    await page.goto(str(server.make_url("/console/customers/wmcust2000001")))
    assert "意向明确" in await page.inner_text("#customer-card")
    assert "初步了解" in await page.inner_text("#t-stages")
    assert await page.locator("#t-runs a[href='/console/sop/rule/xss-rule']").count() == 2
    assert "移入公海" in await page.inner_text("#t-pool")
    missing = await page.goto(str(server.make_url("/console/customers/wmcust3000001")))
    assert missing is not None
    assert missing.status == 404
