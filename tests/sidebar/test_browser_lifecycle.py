"""The lifecycle on the sidebar's customer card, in a real browser: every kind of timeline
entry shows (newest first, paginated) with hostile texts inert; the stage picker; an SOP task
sent in one tap through sendChatMessage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.db import utcnow
from bot.core.keys import DB
from bot.domain.lifecycle_models import (
    CustomerMove,
    CustomerStage,
    PoolEntry,
    SopRun,
    StageChange,
    TagRemoval,
)
from bot.domain.models import Customer, CustomerTag, Escalation, Followup, Message, Note, Tag
from tests.sidebar import browser as chromium

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
KINDS = ["message_in", "message_out", "welcome", "tag_added", "tag_removed", "stage", "note",
         "followup", "followup_done", "escalation", "escalation_resolved", "sop", "transfer",
         "pool"]  # fmt: skip


async def _seed_history(server: TestServer, name: str) -> str:
    """Every kind of entry about the customer, each carrying the payload; returns the id."""
    async with server.app[DB].begin() as session:
        euid = await session.scalar(select(Customer.external_userid).where(Customer.name == name))
        assert euid
        t0 = utcnow() - timedelta(days=2)
        at = [t0 + timedelta(minutes=i) for i in range(40)]
        session.add(Tag(id="tag-xss", name=XSS[:60], group_name="x"))
        await session.flush()
        session.add_all([
            Message(source="kf", external_userid=euid, text="问 " + XSS, created_at=at[1]),
            Message(source="kf", direction="out", external_userid=euid, userid="zhangsan",
                    text="答 " + XSS, created_at=at[2]),
            CustomerTag(external_userid=euid, tag_id="tag-xss", added_by="zhangsan",
                        created_at=at[3]),
            TagRemoval(external_userid=euid, tag_id="t0", tag_name=XSS[:60], by="zhangsan",
                       at=at[4]),
            StageChange(external_userid=euid, from_stage="初步了解", to_stage="意向明确",
                        by="zhangsan", at=at[5]),
            Note(external_userid=euid, userid="zhangsan", text=XSS, created_at=at[6]),
            Followup(external_userid=euid, userid="zhangsan", note=XSS, created_at=at[7],
                     done_at=at[8]),
            Escalation(external_userid=euid, userid="zhangsan", reason=XSS, created_at=at[9],
                       status="resolved", resolution=XSS, resolved_at=at[10], assignee="lead1"),
            SopRun(rule_id="warming", external_userid=euid, userid="zhangsan", occurrence="t",
                   step=0, due_at=at[11], done_at=at[11], status="done", note=XSS),
            SopRun(rule_id="warming", external_userid=euid, userid="zhangsan", occurrence="t",
                   step=1, due_at=utcnow() + timedelta(days=1), status="pending"),
            CustomerMove(external_userid=euid, from_userid="lisi", to_userid="zhangsan",
                         kind="claim", status="failed", reason=XSS, by="zhangsan", at=at[12]),
            PoolEntry(external_userid=euid, from_userid="lisi", reason=XSS, entered_by="lead1",
                      entered_at=at[13], status="claimed"),
        ])  # fmt: skip
        session.add_all(Note(external_userid=euid, userid="zhangsan", text=f"旧备注 {i}",
                             created_at=t0 - timedelta(days=1, minutes=i)) for i in range(15))
    return str(euid)


async def test_timeline_shows_every_kind_and_hostile_text_is_inert(
    page: Any, server: TestServer
) -> None:
    frame = await chromium.add_customer(page, "小时")
    await _seed_history(server, "小时")
    await frame.locator(".tab[data-tab=profile]").click()
    await frame.locator("#stage-picker [data-stage]").first.wait_for()
    await frame.locator("#stage-picker [data-stage=报价阶段]").click()  # also reloads the timeline
    await frame.locator("#stage-picker [data-stage=报价阶段][aria-pressed=true]").wait_for()
    items = frame.locator("#timeline > li")
    more = frame.locator("#timeline-more")
    await items.nth(19).wait_for()  # a full first page
    for pages in range(1, 5):  # page on until the end
        if not await more.is_visible():
            break
        await more.click()
        await items.nth(20 * pages).wait_for()
    assert pages > 1
    await more.wait_for(state="hidden")
    kinds = set(await items.evaluate_all("(els) => els.map((e) => e.dataset.kind)"))
    assert set(KINDS) <= kinds, set(KINDS) - kinds
    # Newest first: the pending SOP step (due tomorrow) on top, the oldest note last.
    assert await items.first.get_attribute("data-kind") == "sop"
    assert "旧备注 14" in await items.last.inner_text()
    text = await frame.locator("#timeline").inner_text()
    assert text.count(XSS) >= 9  # shown as text, in the entries that carry it
    assert await frame.locator("#timeline img, #timeline script").count() == 0
    assert "报价阶段" in text
    # The picker's change is in history, by the signed-in rep.
    async with server.app[DB]() as session:
        stage = await session.get(CustomerStage, (await _euid(server, "小时")))
    assert stage is not None
    assert stage.stage == "报价阶段"


async def _euid(server: TestServer, name: str) -> str:
    async with server.app[DB]() as session:
        return str(await session.scalar(select(Customer.external_userid)
                                        .where(Customer.name == name)))  # fmt: skip


async def test_sop_task_is_sent_in_one_tap(page: Any, server: TestServer) -> None:
    frame = await chromium.add_customer(page, "小任")
    euid = await _euid(server, "小任")
    async with server.app[DB].begin() as session:
        session.add(SopRun(rule_id="warming", external_userid=euid, userid="zhangsan",
                           occurrence="t", step=0, due_at=utcnow(), done_at=utcnow(),
                           status="task", note="小任，本周下单赠旅行装 " + XSS))  # fmt: skip
    await frame.locator(".tab[data-tab=profile]").click()
    await frame.locator("#stage-picker [data-stage=已成交]").click()  # reloads tasks too
    task = frame.locator("#sop-tasks .sop-task")
    await task.wait_for()
    await task.locator("button.send").click()
    await frame.locator("#sop-card").wait_for(state="hidden")
    sent = await page.frames[1].evaluate("window.__sandboxSent")
    assert sent[-1]["msgtype"] == "text"
    assert sent[-1]["text"]["content"] == "小任，本周下单赠旅行装 " + XSS
    async with server.app[DB]() as session:
        run = await session.scalar(select(SopRun).where(SopRun.external_userid == euid))
    assert run is not None
    assert (run.status, run.done_by) == ("sent", "zhangsan")
