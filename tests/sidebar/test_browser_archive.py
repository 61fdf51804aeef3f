"""A customer's words in a rep's 1:1 chat reach the sidebar through the chat archive: the
simulator's 单聊（会话存档） channel seals the message into the fake archive, the sandbox's
archive puller opens it, the allergy rule tags the customer, and the open sidebar shows the
caution live (its event stream), with no reload."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.models import Customer, CustomerTag, Message, Tag
from bot.sandbox import demo
from tests.sidebar import browser as chromium

TEXT = "用了你们的面霜，脸上有点过敏"


async def test_archive_message_about_an_allergy_tags_and_shows_the_caution_live(
    page: Any, server: TestServer
) -> None:
    frame = await chromium.add_customer(page, "小敏")
    await frame.locator("#ask-text").wait_for()
    assert await frame.locator("#c-caution").is_hidden()
    await page.check("input[name=channel][value=archive]")
    await page.fill("#say-text", TEXT)
    await page.click("#say button[type=submit]")

    await frame.locator("#latest-text").filter(has_text="过敏").wait_for()
    hit = frame.locator("#latest-result .rule-hit .caution-text")
    assert "停用" in await hit.inner_text()
    await frame.locator("#c-care").wait_for()  # the special-care badge, reloaded live
    assert "停用" in await frame.locator("#c-caution").inner_text()

    # It came the archive's way: a sealed record in the fake archive, a message of source
    # "archive" with its msgid, and the rule's tag on the customer.
    archive = server.app[demo.FAKE].archive
    assert len(archive.records) == 1
    async with server.app[DB]() as session:
        customer = (await session.scalars(select(Customer).where(Customer.name == "小敏"))).one()
        message = (await session.scalars(
            select(Message).where(Message.external_userid == customer.external_userid,
                                  Message.source == "archive"))).one()  # fmt: skip
        tags = set(await session.scalars(
            select(Tag.name).join(CustomerTag, CustomerTag.tag_id == Tag.id)
            .where(CustomerTag.external_userid == customer.external_userid)))  # fmt: skip
    assert message.source_msgid == archive.records[0]["msgid"]
    assert message.text == TEXT
    assert "过敏体质" in tags

    # The rep answers with the suggestion (sendChatMessage): the archive has it too, and it
    # becomes an outbound message in the customer's timeline.
    suggestion = frame.locator("#latest-result .suggestion").first
    await suggestion.get_by_role("button", name="发送", exact=True).click()
    await page.locator("#log .bubble-rep").last.wait_for()
    await page.locator("#log .sys").filter(has_text="已进入会话存档").first.wait_for()
    for _ in range(200):
        async with server.app[DB]() as session:
            out = (await session.scalars(select(Message).where(
                Message.external_userid == customer.external_userid,
                Message.direction == "out", Message.source == "archive"))).first()  # fmt: skip
        if out is not None:
            break
        await asyncio.sleep(0.05)
    assert out is not None
    assert out.userid == "zhangsan"
    assert out.created_at >= message.created_at
