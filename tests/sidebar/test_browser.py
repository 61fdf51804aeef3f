"""The sidebar in a real browser: the sandbox page, the sidebar beside it, and what it does."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestServer

from bot.core.keys import WECOM
from tests.sidebar import browser as chromium

XSS_NAME = "<script>alert(1)</script>"
FIRST_CUSTOMER = "林小姐"  # the sample customer a first visit starts with


async def test_sandbox_page_loads(page: Any) -> None:
    assert "客户聊天模拟器" in await page.title()
    assert await page.locator(".sandbox-banner").first.is_visible()
    frame = page.frame_locator("#frame")
    banner = frame.locator("#sandbox-banner")
    await banner.wait_for()
    assert "模拟" in await banner.inner_text()  # the JS-SDK stand-in is clearly marked
    # A first visit is never empty: a sample customer arrives through the welcome flow.
    await frame.locator("#c-name").filter(has_text=FIRST_CUSTOMER).wait_for()
    await page.locator("#log .bubble-bot").first.wait_for()  # the welcome message


async def test_sidebar_shows_the_customer(page: Any) -> None:
    frame = await chromium.add_customer(page, "小美")
    assert await frame.locator("#c-name").inner_text() == "小美"
    assert await frame.locator("#tabs").is_visible()
    await page.locator("#log .bubble-bot").first.wait_for()  # the welcome message


async def test_allergy_shows_suggestions_and_special_care(page: Any) -> None:
    frame = await chromium.add_customer(page, "小敏")
    await frame.locator("#ask-text").fill("我过敏了")
    await frame.locator("#ask-form button[type=submit]").click()
    await frame.locator("#ask-result .suggestion").first.wait_for()
    hit = frame.locator("#ask-result .rule-hit")
    assert "过敏" in await hit.inner_text()
    assert "停用" in await hit.inner_text()
    await frame.locator("#c-care").wait_for()  # the special-care badge
    assert "停用" in await frame.locator("#c-caution").inner_text()


async def test_adding_a_tag_calls_mark_tag(page: Any, server: TestServer) -> None:
    data = await server.app[WECOM].add_corp_tag("客户等级", ["VIP", "普通"])
    vip = next(t["id"] for t in data["tag_group"]["tag"] if t["name"] == "VIP")
    frame = await chromium.add_customer(page, "小王")
    await frame.locator(".tab[data-tab=profile]").click()
    await frame.locator("#tag-toggle").click()
    await frame.locator("#tag-library [data-tag=VIP]").click()
    await frame.locator("#tags .chip-tag").filter(has_text="VIP").wait_for()
    answer = await page.request.get(str(server.make_url("/sandbox/wecom/_calls")))
    calls = json.loads(await answer.text())
    marks = [c["json"] for c in calls if c["path"] == "cgi-bin/externalcontact/mark_tag"]
    assert any(vip in m["add_tag"] and m["userid"] == "zhangsan" for m in marks)


async def test_quick_reply_goes_to_send_chat_message(page: Any) -> None:
    frame = await chromium.add_customer(page, "小李")
    first = frame.locator("#qr-list .qr").first
    await first.wait_for()
    content = await first.locator(".qr-content").inner_text()
    await first.locator("button.send").click()
    await page.locator("#log .bubble-rep").filter(has_text=content).wait_for()
    sent = await page.frames[1].evaluate("window.__sandboxSent")
    assert sent[-1]["msgtype"] == "text"
    assert sent[-1]["text"]["content"] == content


async def test_hostile_customer_name_renders_as_text(page: Any) -> None:
    frame = await chromium.add_customer(page, XSS_NAME)
    assert await frame.locator("#c-name").inner_text() == XSS_NAME
    assert await frame.locator("#c-name script").count() == 0
    option = page.locator("#customer option").filter(has_text=re.compile("alert"))
    assert XSS_NAME in await option.inner_text()
    assert await page.locator("#customer script").count() == 0


async def test_customer_message_updates_the_sidebar_live(page: Any) -> None:
    frame = await chromium.add_customer(page, "小周")
    await frame.locator("#ask-text").wait_for()
    await page.fill("#say-text", "怎么查物流")  # as the customer, on the kf account
    await page.click("#say button[type=submit]")
    await frame.locator("#latest-text").filter(has_text="怎么查物流").wait_for()
    await frame.locator("#latest-result .suggestion").first.wait_for()
    await page.locator("#log .bubble-bot").filter(has_text="物流").first.wait_for()


async def test_sent_suggestion_can_become_a_similar_question(page: Any) -> None:
    frame = await chromium.add_customer(page, "小陈")
    await frame.locator("#ask-text").fill("快递到哪儿了呀")
    await frame.locator("#ask-form button[type=submit]").click()
    first = frame.locator("#ask-result .suggestion").first
    await first.wait_for()
    await first.locator("button", has_text="编辑后发送").click()
    await frame.locator("#editor-text").fill("亲，在「我的订单」里可以看到物流～")
    await frame.locator("#editor-send").click()
    await page.locator("#log .bubble-rep").filter(has_text="我的订单").wait_for()
    offer = frame.locator(".feedback")
    await offer.wait_for()
    assert "快递到哪儿了呀" in await offer.inner_text()
    await offer.locator("button", has_text="记录").click()
    # One rep's pick is a proposal: it waits for a supervisor (or a second rep).
    await offer.filter(has_text="等待主管审核").wait_for()


async def test_nothing_is_offered_for_recording_under_the_suggestion_floor(page: Any) -> None:
    frame = await chromium.add_customer(page, "小天")
    await frame.locator("#ask-text").fill("今天天气怎么样")  # the demo KB's best is about 15 %
    await frame.locator("#ask-form button[type=submit]").click()
    await frame.locator("#ask-result .low-note").filter(has_text="匹配度较低").wait_for()
    first = frame.locator("#ask-result .suggestion").first
    await first.locator("button.send").click()
    await frame.locator("#toast").filter(has_text="已发送").wait_for()
    assert await frame.locator(".feedback").count() == 0


async def test_an_answer_found_by_searching_the_kb_can_be_recorded(page: Any) -> None:
    frame = await chromium.add_customer(page, "小周")
    await frame.locator("#ask-text").fill("东西收到了但是盒子压坏了怎么办")
    await frame.locator("#ask-form button[type=submit]").click()
    search = frame.locator("#ask-result .kb-search input")
    await search.fill("退货")
    await frame.locator("#ask-result .kb-search button").click()
    found = frame.locator("#ask-result .kb-search-results .suggestion").first
    await found.wait_for()
    # A % would rate the rep's keywords, not the customer's message: none is shown.
    assert await frame.locator("#ask-result .kb-search-results .conf").count() == 0
    await found.locator("button.send").click()
    offer = frame.locator(".feedback")
    await offer.wait_for()
    await offer.locator("button", has_text="记录").click()
    await offer.filter(has_text="等待主管审核").wait_for()


async def test_expired_session_asks_to_sign_in_again(page: Any) -> None:
    frame = await chromium.add_customer(page, "小赵")
    await page.context.clear_cookies()
    await frame.locator("#ask-text").fill("在吗")
    await frame.locator("#ask-form button[type=submit]").click()
    notice = frame.locator("#notice")
    await notice.filter(has_text="登录已过期").wait_for()
    await notice.locator("a", has_text="重新登录").click()
    # The OAuth stand-in asks who you are (WeCom itself would just know), then the callback.
    await frame.locator("a.btn", has_text="zhangsan").click()
    await frame.locator("#c-name").filter(has_text="小赵").wait_for()
    assert any(c["name"] == "sk_session" for c in await page.context.cookies())


async def test_group_chat_shows_the_group_and_its_customers(page: Any) -> None:
    await chromium.add_customer(page, "群友甲")
    await chromium.add_customer(page, "群友乙")
    await page.click("#new-group")
    frame = page.frame_locator("#frame")
    await frame.locator("#group-name").filter(has_text="客户群").wait_for()
    members = frame.locator("#group-members .chip")
    assert sorted(await members.all_inner_texts()) == sorted([FIRST_CUSTOMER, "群友甲", "群友乙"])
    await members.filter(has_text="群友甲").click()
    await frame.locator("#c-name").filter(has_text="群友甲").wait_for()
    await frame.locator("#qr-list .qr").first.wait_for()  # quick replies work here too
