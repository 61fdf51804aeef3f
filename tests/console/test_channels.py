"""Page 4, channels: a QR made in the console drives the welcome of a customer who adds
through it; WeCom refusals store nothing; edits and deletions reach WeCom via the outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.models import AuditLog, Channel, CustomerTag, FollowRelation, Tag
from bot.domain.ops_models import ContactWay
from bot.sandbox import demo
from tests.console import seed
from tests.console.conftest import SignIn
from tests.helpers import settle

PNG = b"\x89PNG\r\n\x1a\n"


async def _new_channel(tab: object, server: TestServer, state: str) -> None:
    page = tab.page  # type: ignore[attr-defined]
    await page.goto(str(server.make_url("/console/channels")))
    form = page.locator("#new-channel form")
    await form.locator("input[name=state]").fill(state)
    await form.locator("input[name=name]").fill("直播间")
    await form.locator("input[name=users][value=rep2]").check()
    await form.locator("input[name=tags]").fill("直播 新客")
    await form.locator("select[name=template_id]").select_option("livetpl")
    await form.locator("button[type=submit]").click()
    await page.wait_for_url(f"**/console/channels/{state}?saved=created")


async def test_a_console_qr_drives_the_welcome_of_a_customer_who_adds_through_it(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    await _new_channel(tab, server, "live0618")
    fake = server.app[demo.FAKE]
    [call] = fake.calls_to("externalcontact/add_contact_way")
    wanted = {"type": 1, "scene": 2, "state": "live0618", "user": ["rep2"]}
    assert call["json"].items() >= wanted.items()
    # The QR shows (a real PNG, read from the qr_code URL WeCom answered) and downloads.
    src = await tab.page.locator("#qr-image").get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    async with tab.page.expect_download() as info:
        await tab.page.locator("#qr-download").click()
    download = await info.value
    assert download.suggested_filename == "渠道活码-live0618.png"
    saved = await download.path()
    assert (await asyncio.to_thread(Path(saved).read_bytes)).startswith(PNG)
    async with server.app[DB]() as db:
        way = await db.get(ContactWay, "live0618")
        assert way is not None
        assert way.config_id in fake.state.contact_ways
        created = AuditLog.action == "console:channel.create"
        audit = await db.scalar(select(AuditLog).where(created))
        assert audit is not None
        assert (audit.actor, audit.target) == ("boss", "live0618")
    # A customer scans it: WeCom calls back with its state.
    event = {"type": "add_external_contact", "userid": "rep2", "state": "live0618",
             "name": "扫码客户"}  # fmt: skip
    async with aiohttp.ClientSession() as http, http.post(
        server.make_url("/sandbox/wecom/_events"), json=event
    ) as resp:
        assert resp.status == 200
        euid = (await resp.json())["external_userid"]
    await settle(server.app)
    [welcome] = fake.calls_to("externalcontact/send_welcome_msg")
    assert welcome["json"]["text"]["content"].startswith("直播间专属福利：你好")
    async with server.app[DB]() as db:
        names = set(await db.scalars(
            select(Tag.name).join(CustomerTag, CustomerTag.tag_id == Tag.id)
            .where(CustomerTag.external_userid == euid)))  # fmt: skip
        relation = await db.scalar(select(FollowRelation).where(
            FollowRelation.external_userid == euid))  # fmt: skip
    assert names == {"直播", "新客"}
    assert relation is not None
    assert relation.state == "live0618"
    marks = [c["json"] for c in fake.calls_to("externalcontact/mark_tag")]
    assert any(m["external_userid"] == euid and len(m["add_tag"]) == 2 for m in marks)
    # The channel's figures count the add.
    await tab.page.goto(str(server.make_url("/console/channels/live0618")))
    assert await tab.page.inner_text("#fig-added") == "1"


async def test_a_wecom_refusal_is_shown_and_nothing_is_stored(
    server: TestServer, sign_in: SignIn
) -> None:
    fake = server.app[demo.FAKE]
    fake.fail_next("externalcontact/add_contact_way", 48002)
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/channels")))
    form = page.locator("#new-channel form")
    await form.locator("input[name=state]").fill("refused1")
    await form.locator("input[name=name]").fill("被拒绝")
    await form.locator("input[name=users][value=rep2]").check()
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    body = await page.inner_text("body")
    assert "没有权限" in body or "48002" in body
    assert "没有保存" in body
    async with server.app[DB]() as db:
        assert await db.get(Channel, "refused1") is None
        assert await db.get(ContactWay, "refused1") is None
    # Bad input: a clear error, and WeCom is not even asked.
    before = len(fake.calls_to("externalcontact/add_contact_way"))
    await page.goto(str(server.make_url("/console/channels")))
    form = page.locator("#new-channel form")
    await form.locator("input[name=state]").fill("two-reps")
    await form.locator("input[name=name]").fill("单人码两人")
    await form.locator("input[name=users][value=rep2]").check()
    await form.locator("input[name=users][value=sup2]").check()
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    assert "单人码只能有一位接待成员" in await page.inner_text("body")
    assert len(fake.calls_to("externalcontact/add_contact_way")) == before


async def test_edit_and_delete_reach_wecom_through_the_outbox(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    await _new_channel(tab, server, "multi01")
    fake = server.app[demo.FAKE]
    page = tab.page
    edit = page.locator("form[action='/console/channels/multi01']")
    await edit.locator("input[name=users][value=rep2]").uncheck()
    await edit.locator("input[name=users][value=sup2]").check()
    await edit.locator("input[name=name]").fill("直播间二号")
    await edit.locator("button[type=submit]").click()
    await page.wait_for_url("**/console/channels/multi01?saved=updated")
    await settle(server.app)
    config_id = next(iter(fake.state.contact_ways))
    assert fake.state.contact_ways[config_id]["user"] == ["sup2"]
    delete = page.locator("form[action='/console/channels/multi01/delete']")
    await delete.locator("input[name=confirm]").check()
    await delete.locator("button[type=submit]").click()
    await page.wait_for_url("**/console/channels?saved=deleted")
    await settle(server.app)
    assert config_id not in fake.state.contact_ways
    async with server.app[DB]() as db:
        assert await db.get(Channel, "multi01") is None
        actions = list(await db.scalars(select(AuditLog.action).where(
            AuditLog.target == "multi01")))  # fmt: skip
    assert actions == ["console:channel.create", "console:channel.update",
                       "console:channel.delete"]  # fmt: skip


async def test_an_imported_channel_is_edited_without_members_and_gets_a_qr(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/channels/oldchan")))
    assert await page.locator("#qr-image").count() == 0
    edit = page.locator("form[action='/console/channels/oldchan']")
    assert await edit.locator("input[name=users]").count() == 0  # no QR: no members to pick
    await edit.locator("input[name=tags]").fill("旧 老客")
    await edit.locator("button[type=submit]").click()
    await page.wait_for_url("**/console/channels/oldchan?saved=updated")
    async with server.app[DB]() as db:
        channel = await db.get(Channel, "oldchan")
        assert channel is not None
        assert channel.tags == ["旧", "老客"]
    # Give it a QR code: the same "call, then record" as a new channel.
    await page.locator(".qr-card select[name=users]").select_option("rep2")
    await page.locator(".qr-card button[type=submit]").click()
    await page.wait_for_url("**/console/channels/oldchan?saved=created")
    assert (await page.locator("#qr-image").get_attribute("src") or "").startswith("data:image")
