"""The dashboard in Chromium: honest figures per scope, charts, drill-downs, CSV exports, and
closing a knowledge gap in one click (live in the matcher without a restart)."""

from __future__ import annotations

import csv
import io
import re

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB, KB
from bot.domain.models import AuditLog
from console.tables import Table, csv_response
from knowledge.misses import KBMiss
from knowledge.store import KBEntry, KBSimilarQuestion
from tests.console import seed
from tests.console.conftest import SignIn, Tab


async def _kpis(tab: Tab) -> dict[str, str]:
    out = {}
    for kpi in await tab.page.locator(".kpi").all():
        label = await kpi.locator(".kpi-label").inner_text()
        out[label] = await kpi.locator(".kpi-value").inner_text()
    return out


async def test_figures_for_an_admin_and_a_supervisor(server: TestServer, sign_in: SignIn) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/")))
    figures = await _kpis(admin)
    assert figures["新增客户"] == "2"
    assert figures["流失客户"] == "1"
    assert figures["首次响应 p50"] == "1小时0分"  # asked 3 h ago, answered 2 h ago
    assert figures["FAQ 自动回答率"] == "100.0%"
    assert figures["未处理升级"] == "2"
    assert figures["逾期跟进"] == "2"
    # ECharts (our own copy) drew both charts.
    await admin.page.locator("#chart-trend canvas").wait_for()
    await admin.page.locator("#chart-channels canvas").wait_for()
    assert admin.violations == []
    supervisor = await sign_in(seed.IDENTITIES["supervisor"])
    await supervisor.page.goto(str(server.make_url("/console/")))
    figures = await _kpis(supervisor)
    assert figures["新增客户"] == "1"
    assert figures["流失客户"] == "0"
    assert figures["未处理升级"] == "1"


async def test_each_figure_links_to_its_list(server: TestServer, sign_in: SignIn) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/")))
    await admin.page.locator(".kpi", has_text="流失客户").click()
    await admin.page.wait_for_url("**/console/list/customers?**")
    assert seed.DEPT3_SECRET in await admin.page.inner_text("#main")
    for label, expected in (("未处理升级", "升级原因"), ("逾期跟进", "回访"),
                            ("首次响应 p90", "1小时0分"), ("客户消息", "问题")):  # fmt: skip
        await admin.page.goto(str(server.make_url("/console/")))
        await admin.page.locator(".kpi", has_text=label).click()
        await admin.page.wait_for_url("**/console/list/**")
        assert expected in await admin.page.inner_text("#main"), label
    # Narrowed to a rep, the per-rep links keep the narrowing.
    await admin.page.goto(str(server.make_url("/console/?rep=rep2")))
    assert (await _kpis(admin))["新增客户"] == "1"


async def test_every_table_exports_as_csv(server: TestServer, sign_in: SignIn) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/")))
    links = admin.page.locator("a[download]")
    assert await links.count() == 6
    for href in [await link.get_attribute("href") for link in await links.all()]:
        assert href is not None
        response = await admin.page.request.get(str(server.make_url("/console/" + href)))
        assert response.status == 200, href
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        body = (await response.body()).decode("utf-8")
        assert body.startswith("\ufeff")
        assert len(list(csv.reader(io.StringIO(body[1:])))) >= 1
    lists = ["/console/list/escalations?format=csv", "/console/list/messages?kind=in&format=csv"]
    for url in lists:
        response = await admin.page.request.get(str(server.make_url(url)))
        assert response.status == 200
        assert seed.DEPT3_SECRET in (await response.body()).decode()


def test_csv_cells_never_run_as_formulas() -> None:
    from datetime import UTC, datetime

    table = Table("t", "表", ("a",))
    table.add('=HYPERLINK("http://x")')
    table.add("@SUM(1)")
    response = csv_response(table, stamp=datetime(2026, 1, 1, tzinfo=UTC))
    assert response.body is not None
    text = bytes(response.body).decode()  # type: ignore[arg-type]
    assert "'=HYPERLINK" in text
    assert "'@SUM" in text


async def test_gap_becomes_an_faq_entry_live(server: TestServer, sign_in: SignIn) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    await admin.page.goto(str(server.make_url("/console/")))
    gap = admin.page.locator(".gap", has_text="几点下班")
    await gap.locator("summary", has_text="新建 FAQ 条目").click()
    await gap.locator("input[name=question]").fill("客服几点下班")
    await gap.locator("textarea[name=answer]").fill("客服每天 9:00-21:00 在线。")
    await gap.locator("button", has_text="新建并生效").click()
    await admin.page.wait_for_url("**/console/?gap=entry")
    assert await admin.page.locator(".gap-hd", has_text="几点下班").count() == 0
    async with server.app[DB]() as db:
        entry = await db.scalar(select(KBEntry).where(KBEntry.question == "客服几点下班"))
        assert entry is not None
        assert (await db.get(KBMiss, 2)).resolved  # type: ignore[union-attr]
        audit = await db.scalar(select(AuditLog).where(AuditLog.action == "kb_gap_entry"))
        assert audit is not None
        assert audit.actor == "boss"
    # This worker's matcher has it now, without a restart.
    assert server.app[KB].snapshot.kb.entry(entry.id) is not None


async def test_gap_becomes_similar_questions(server: TestServer, sign_in: SignIn) -> None:
    supervisor = await sign_in(seed.IDENTITIES["supervisor"])
    await supervisor.page.goto(str(server.make_url("/console/")))
    gap = supervisor.page.locator(".gap", has_text="可以开发票吗")
    await gap.locator("summary", has_text="归入已有条目").click()
    options = await gap.locator("select[name=entry_id] option").all_inner_texts()
    target = next(o for o in options if o and o != "选择知识条目")
    await gap.locator("select[name=entry_id]").select_option(label=target)
    await gap.locator("button", has_text="加为相似问法").click()
    await supervisor.page.wait_for_url("**/console/?gap=similar")
    async with server.app[DB]() as db:
        rows = (await db.scalars(select(KBSimilarQuestion.question))).all()
        assert any(re.search("可以开发票吗", q) for q in rows)
        assert (await db.get(KBMiss, 1)).resolved  # type: ignore[union-attr]
    entry = next(e for e in server.app[KB].snapshot.kb.entries if e.question == target)
    assert any("可以开发票吗" in q for q in entry.similar)
