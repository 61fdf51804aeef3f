"""What the simulator showed wrong: welcome link cards (新人礼包) were missing though the text
says 「点下方链接领取」; a kf handover read 「会话状态变更为 2」; the sign-in picker listed bare
userids; /sandbox/ with a trailing slash was a 404."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestServer

from tests.sidebar.conftest import page, server

__all__ = ["page", "server"]


async def test_welcome_link_card_is_shown(page: Any) -> None:
    welcome = page.locator("#log .bubble-bot").filter(has_text="点下方链接领取")
    await welcome.wait_for()
    card = welcome.locator(".sim-card")
    assert "新人礼包" in await card.inner_text()
    assert "首单立减 20 元" in await card.inner_text()
    assert await card.locator("a").get_attribute("href") == "https://example.com/newcomer?from=douyin"


async def test_kf_session_state_has_a_name(page: Any) -> None:
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    await page.fill("#say-text", "转人工")
    await page.click("#say button[type=submit]")
    state = page.locator("#log .sys").filter(has_text="微信客服会话")
    await state.first.wait_for()
    text = await state.first.inner_text()
    assert "待接入池排队中" in text or "由人工接待" in text
    assert not re.search(r"变更为 \d", await page.locator("#log").inner_text())


async def test_sign_in_picker_shows_names_and_roles(page: Any, server: TestServer) -> None:
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    back = str(server.make_url("/sidebar/auth/callback"))
    pick = f"/sidebar/sandbox/authorize?redirect_uri={back}&state=s"
    await page.goto(str(server.make_url(pick)))
    zhangsan = page.locator(".pick[data-userid=zhangsan]")
    assert "张三" in await zhangsan.inner_text()
    assert "客服" in await zhangsan.inner_text()
    lead = await page.locator(".pick[data-userid=lead1]").inner_text()
    assert "刘主管" in lead
    assert "主管" in lead.replace("刘主管", "")
    assert "管理员" in await page.locator(".pick[data-userid=boss]").inner_text()
    # The simulator's member pickers name people too.
    await page.goto(str(server.make_url("/sandbox")))
    assert "刘主管（lead1） · 主管" in await page.locator("#rep").inner_text()


async def test_trailing_slash(page: Any, server: TestServer) -> None:
    for path in ("/sandbox/", "/sidebar/sandbox/"):
        answer = await page.request.get(str(server.make_url(path)), max_redirects=0)
        assert answer.status == 302, path
        assert answer.headers["location"] == "/sidebar/sandbox"
    await page.goto(str(server.make_url("/sandbox/")))
    assert "客户聊天模拟器" in await page.title()


async def test_after_a_handover_the_simulator_says_why_the_bot_is_silent_and_can_end_it(
    page: Any,
) -> None:
    """The hint led a new user from 我过敏了 (a handover) to a FAQ that then got no answer:
    correct (a person has the chat), but nothing said so, and nothing could end the session."""
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    hint = await page.locator("#log .sys").first.inner_text()
    assert hint.index("下单后多久发货") < hint.index("我过敏了")  # the FAQ first
    bot = page.locator("#log .bubble-bot").filter(has_text="机器人（微信客服）")
    await page.fill("#say-text", "转人工")
    await page.click("#say button[type=submit]")
    handed = page.locator("#log .sys").filter(has_text="机器人不再自动回答")
    await handed.wait_for()
    answered = await bot.count()
    await handed.locator("button.end-session").click()
    await page.locator("#log .sys").filter(has_text="人工会话已结束").wait_for()
    await page.fill("#say-text", "下单后多久发货")
    await page.click("#say button[type=submit]")
    await bot.nth(answered).wait_for()  # the bot has the chat again and answers
    assert "发货" in await bot.nth(answered).inner_text()


async def test_first_hint_says_what_each_suggested_message_does(page: Any) -> None:
    """The hint promised that 我过敏了 hands over to a person; in the demo KB it is answered by
    the bot (the 过敏 rule tags the customer and alerts the rep), and no end button came."""
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    hint = await page.locator("#log .sys").first.inner_text()
    allergy = hint[hint.index("我过敏了") :].split("）")[0]
    assert "转人工" not in allergy
    assert "提醒" in allergy
    assert "转人工（" in hint  # the message that does hand over is offered too
    bot = page.locator("#log .bubble-bot").filter(has_text="机器人（微信客服）")
    await page.fill("#say-text", "我过敏了")
    await page.click("#say button[type=submit]")
    await bot.first.wait_for()
    assert "停用" in await bot.first.inner_text()
    assert await page.locator("#log .sys").filter(has_text="机器人不再自动回答").count() == 0


async def test_ending_a_session_that_already_ended_is_told_in_chinese(
    page: Any, server: TestServer
) -> None:
    """Each handover line has its own button (queued, then assigned from 客服接待: two); one that
    came too late showed the fake's English 'bad event: the session is not queued...'."""
    await page.locator("#sim[data-ready=true]").wait_for(state="attached")
    await page.fill("#say-text", "转人工")
    await page.click("#say button[type=submit]")
    handed = page.locator("#log .sys").filter(has_text="机器人不再自动回答")
    await handed.wait_for()
    customer = await page.locator("#customer").input_value()
    kfid = await page.locator("#sim").get_attribute("data-kf-account")
    ended = await page.request.post(  # ended elsewhere (another tab, the WeCom client)
        str(server.make_url("/sandbox/wecom/_events")),
        data={"type": "kf_end_session", "open_kfid": kfid, "external_userid": customer},
    )
    assert ended.ok, await ended.text()
    await handed.first.locator("button.end-session").click()
    failed = page.locator("#log .sys").filter(has_text="结束会话失败")
    await failed.last.wait_for()
    told = await failed.last.inner_text()
    assert "没有在人工会话中" in told
    assert not re.search(r"[A-Za-z]{3,}", told)  # no English from the fake
