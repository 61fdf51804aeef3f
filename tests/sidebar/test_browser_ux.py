"""The sidebar as a rep uses it on a phone: tap targets, no double sends, errors, follow-ups."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB, WECOM
from bot.domain.models import Customer
from bot.sandbox.demo import FAKE
from sidebar import sandbox
from tests.sidebar import browser as chromium

LONG_NAME = "<b>超长昵称</b>" + "很长很长的名字" * 6  # 55 of the 60 allowed

# Every visible control the rep taps; each must be at least 40px tall and wide enough.
TAP_TARGETS_JS = """() => [...document.querySelectorAll("button, a.btn, input, textarea, .chip")]
  .filter((n) => n.offsetParent !== null && !n.closest(".sandbox-banner"))
  .map((n) => { const r = n.getBoundingClientRect();
    const label = (n.textContent || n.placeholder || "").trim().slice(0, 12);
    return { what: (n.id || n.className) + " " + label, w: r.width, h: r.height }; })
  .filter((r) => r.h < 40 || r.w < 40)"""
WIDTH_JS = "() => document.documentElement.scrollWidth"


async def sent(page: Any) -> list[dict[str, Any]]:
    """What the JS-SDK stand-in's sendChatMessage received, in the simulator's sidebar."""
    result: list[dict[str, Any]] = await page.frames[1].evaluate("window.__sandboxSent")
    return result


async def test_phone_width_tap_targets_and_no_overflow(page: Any, server: TestServer) -> None:
    await server.app[WECOM].add_corp_tag("客户等级", ["VIP", "很长很长很长很长的标签名字"])
    await chromium.add_customer(page, LONG_NAME)
    phone = await chromium.sidebar_alone(page)
    assert await phone.locator("#c-name b").count() == 0  # the name is text, not markup
    await phone.locator("#qr-list .qr").first.wait_for()
    await phone.screenshot(path=str(chromium.artifact("sidebar-phone-reply.png")), full_page=True)
    assert await phone.evaluate(TAP_TARGETS_JS) == []
    assert await phone.evaluate(WIDTH_JS) <= chromium.PHONE["width"]
    await phone.locator("#tab-profile").click()
    assert await phone.locator("#tab-profile").get_attribute("aria-selected") == "true"
    await phone.locator("#tag-toggle").click()
    await phone.locator("#tag-library [data-tag=VIP]").wait_for()
    shot = chromium.artifact("sidebar-phone-profile.png")
    await phone.screenshot(path=str(shot), full_page=True)
    assert await phone.evaluate(TAP_TARGETS_JS) == []
    assert await phone.evaluate(WIDTH_JS) <= chromium.PHONE["width"]


async def test_a_double_tap_on_send_sends_once(page: Any) -> None:
    frame = await chromium.add_customer(page, "小双")
    await frame.locator("#qr-list .qr button.send").first.wait_for()
    before = len(await sent(page))
    # Two taps before WeCom answers the first: the second must not send the reply again.
    double_tap = "() => { const b = document.querySelector('#qr-list .qr button.send'); "
    await page.frames[1].evaluate(double_tap + "b.click(); b.click(); }")
    await frame.locator("#toast").filter(has_text="已发送").wait_for()
    await page.wait_for_timeout(300)
    assert len(await sent(page)) == before + 1


async def test_escape_after_an_edited_send_does_not_send_again(page: Any) -> None:
    frame = await chromium.add_customer(page, "小编")
    first = frame.locator("#qr-list .qr").first
    await first.wait_for()
    await first.locator("button", has_text="编辑后发送").click()
    await frame.locator("#editor-text").fill("改过的话术")
    await frame.locator("#editor-send").click()
    await page.locator("#log .bubble-rep").filter(has_text="改过的话术").wait_for()
    count = len(await sent(page))
    await first.locator("button", has_text="编辑后发送").click()
    await frame.locator("#editor-text").fill("")
    assert await frame.locator("#editor-send").is_disabled()  # nothing to send
    await frame.locator("#editor-text").press("Escape")
    await page.wait_for_timeout(300)
    assert not await frame.locator("#editor").is_visible()
    assert len(await sent(page)) == count


async def test_followup_due_in_natural_chinese_and_done(page: Any) -> None:
    frame = await chromium.add_customer(page, "小跟")
    await frame.locator("#tab-profile").click()
    await frame.locator("#followups").filter(has_text="还没有跟进").wait_for()
    await frame.locator("#followup-text").fill("回电确认尺码")
    await frame.locator("#due-presets [data-due='明天10点']").click()
    assert await frame.locator("#followup-due").input_value() == "明天10点"
    await frame.locator("#followup-form [type=submit]").click()
    await frame.locator("#toast").filter(has_text="明天 10:00 到期").wait_for()
    item = frame.locator("#followups li").filter(has_text="回电确认尺码")
    assert "10:00" in await item.inner_text()
    await frame.locator("#followup-text").fill("寄样品")
    await frame.locator("#followup-due").fill("随便哪天")
    await frame.locator("#followup-form [type=submit]").click()
    await frame.locator("#toast").filter(has_text="看不懂时间").wait_for()
    assert await frame.locator("#followup-text").input_value() == "寄样品"  # kept for a retry
    await item.locator("button", has_text="完成").click()
    await frame.locator("#followups li.is-done").filter(has_text="回电确认尺码").wait_for()


async def test_tag_library_shows_applied_tags_and_removes_on_tap(
    page: Any, server: TestServer
) -> None:
    await server.app[WECOM].add_corp_tag("客户等级", ["VIP", "普通"])
    frame = await chromium.add_customer(page, "小签")
    await frame.locator("#tab-profile").click()
    await frame.locator("#tag-toggle").click()
    vip = frame.locator("#tag-library [data-tag=VIP]")
    await vip.click()
    await frame.locator("#tags .chip-tag").filter(has_text="VIP").wait_for()
    await frame.locator("#tag-library [data-tag=VIP][aria-pressed=true]").click()
    await frame.locator("#tag-library [data-tag=VIP][aria-pressed=false]").wait_for()
    assert await frame.locator("#tags .chip-tag").filter(has_text="VIP").count() == 0
    answer = await page.request.get(str(server.make_url("/sandbox/wecom/_calls")))
    marks = [c["json"] for c in json.loads(await answer.text())
             if c["path"] == "cgi-bin/externalcontact/mark_tag"]  # fmt: skip
    assert any(m.get("remove_tag") for m in marks)


async def test_suggestions_hide_noise_and_say_when_the_bot_answered(page: Any) -> None:
    frame = await chromium.add_customer(page, "小噪")
    await page.fill("#say-text", "我过敏了")  # on the kf account: the bot answers this one
    await page.click("#say button[type=submit]")
    note = frame.locator("#latest-result .auto-note")
    await note.filter(has_text="机器人已自动回复").wait_for()  # once kf/send_msg delivered it
    await frame.locator("#ask-text").fill("我过敏了")
    await frame.locator("#ask-form button[type=submit]").click()
    await frame.locator("#ask-result .suggestion").first.wait_for()
    assert "匹配 0%" not in await frame.locator("#ask-result").inner_text()


async def test_after_a_handover_the_sidebar_never_claims_an_auto_reply(
    page: Any, server: TestServer
) -> None:
    frame = await chromium.add_customer(page, "小转")
    async with server.app[DB]() as session:
        query = select(Customer.external_userid).where(Customer.name == "小转")
        euid = await session.scalar(query)
    # A person already has the conversation: the bot is sure of the answer but must stay out.
    server.app[FAKE].state.kf_state[(sandbox.KF_ACCOUNT, str(euid))] = {
        "service_state": 3, "servicer_userid": "zhangsan",
    }  # fmt: skip
    await page.fill("#say-text", "我过敏了")
    await page.click("#say button[type=submit]")
    status = frame.locator("#latest-result .reply-status")
    await status.filter(has_text="已转人工，客户已等待").wait_for()  # the live view
    assert await frame.locator("#latest-result .auto-note").count() == 0
    await page.frames[1].evaluate("location.reload()")  # a reload says the same
    await frame.locator("#latest-result .reply-status").filter(has_text="已转人工").wait_for()
    assert await frame.locator("#latest-result .auto-note").count() == 0
    calls = server.app[FAKE].calls_to("kf/send_msg")
    assert all(c["json"].get("touser") != euid for c in calls)


async def test_js_sdk_failure_says_what_to_do(page: Any) -> None:
    frame = await chromium.add_customer(page, "小签名")
    tab = page.frames[1]

    async def bad_signature(route: Any) -> None:
        answer = await route.fetch()
        data = await answer.json()
        data["config"]["signature"] = "0" * 40
        await route.fulfill(response=answer, json=data)

    await page.route("**/sidebar/api/jssdk*", bad_signature)
    await tab.goto(tab.url)
    notice = frame.locator("#notice")
    await notice.filter(has_text="可信域名").wait_for()
    assert "联系管理员" in await notice.inner_text()
    assert await notice.locator("button", has_text="重新加载").is_visible()
    assert not await frame.locator("#loading").is_visible()


async def test_network_failure_and_recovery(page: Any) -> None:
    frame = await chromium.add_customer(page, "小网")
    await frame.locator("#ask-text").fill("在吗")
    await page.route("**/ask", lambda route: route.abort("internetdisconnected"))
    await frame.locator("#ask-form button[type=submit]").click()
    await frame.locator("#toast").filter(has_text="网络连接失败").wait_for()
    assert await frame.locator("#ask-submit").is_enabled()  # the rep can try again
    await page.frames[1].evaluate("() => window.dispatchEvent(new Event('offline'))")
    await frame.locator("#notice").filter(has_text="网络已断开").wait_for()
    await page.frames[1].evaluate("() => window.dispatchEvent(new Event('online'))")
    await frame.locator("#notice").wait_for(state="hidden")
