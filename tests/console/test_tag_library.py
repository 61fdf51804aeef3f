"""Page 6, the tag library: counts scoped to the viewer, create / rename / delete kept in step
with WeCom, and WeCom's own changes (change_external_tag) mirrored back."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.models import AuditLog, CustomerTag, Tag
from bot.sandbox import demo, fake_xml
from bot.sandbox.fake import FakeWeCom
from tests.console import seed
from tests.console.conftest import SignIn
from tests.helpers import settle


def _count(text: str) -> int:
    return int(text.strip())


async def test_counts_are_scoped_to_the_viewers_departments(
    server: TestServer, sign_in: SignIn
) -> None:
    admin = await sign_in(seed.IDENTITIES["admin"])
    supervisor = await sign_in(seed.IDENTITIES["supervisor"])
    count = "[data-tag=etxss1] .tag-count"
    await admin.page.goto(str(server.make_url("/console/tags")))
    assert _count(await admin.page.inner_text(count)) == 2  # departments 2 and 3
    await supervisor.page.goto(str(server.make_url("/console/tags")))
    assert _count(await supervisor.page.inner_text(count)) == 1  # department 2 only
    assert await supervisor.page.locator("#new-tag").count() == 0  # admins edit
    # The dimensions lead, in their order; a group not named as one follows.
    groups = await admin.page.locator(".tag-group h2").all_inner_texts()
    assert groups[0].startswith("来源")


async def test_create_rename_delete_reach_wecom(server: TestServer, sign_in: SignIn) -> None:
    fake = server.app[demo.FAKE]
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/tags")))
    await page.fill("#new-tag input[name=group_name]", "偏好")
    await page.fill("#new-tag input[name=name]", "清爽型")
    await page.click("#new-tag button[type=submit]")
    await page.wait_for_url("**/console/tags?saved=created")
    [group] = [g for g in fake.state.groups.values() if g["group_name"] == "偏好"]
    [made] = group["tag"]
    async with server.app[DB]() as db:
        tag = await db.get(Tag, made["id"])
        assert tag is not None
        assert (tag.name, tag.group_name) == ("清爽型", "偏好")
    item = page.locator(f"[data-tag='{made['id']}']")
    await item.locator("summary").click()
    await item.locator("input[name=name]").fill("清爽肤感")
    await item.locator("button:has-text('改名')").click()
    await page.wait_for_url("**/console/tags?saved=renamed")
    await settle(server.app)
    assert made["name"] == "清爽肤感"
    item = page.locator(f"[data-tag='{made['id']}']")
    await item.locator("summary").click()
    await item.locator("input[name=confirm]").check()
    await item.locator("button:has-text('删除')").click()
    await page.wait_for_url("**/console/tags?saved=deleted")
    await settle(server.app)
    assert made["id"] not in fake.state.all_tags()
    async with server.app[DB]() as db:
        tag = await db.get(Tag, made["id"])
        assert tag is not None
        assert tag.deleted
        actions = list(await db.scalars(select(AuditLog.action).where(
            AuditLog.target == made["id"])))  # fmt: skip
    assert actions == ["console:tag.create", "console:tag.rename", "console:tag.delete"]
    # A name that is too long: a clear error, nothing asked of WeCom.
    before = len(fake.calls_to("externalcontact/add_corp_tag"))
    await page.fill("#new-tag input[name=group_name]", "偏好")
    await page.evaluate("document.querySelector('#new-tag input[name=name]').removeAttribute"
                        "('maxlength')")  # fmt: skip
    await page.fill("#new-tag input[name=name]", "长" * 31)
    await page.click("#new-tag button[type=submit]")
    await page.wait_for_load_state()
    assert "最多 30 个字" in await page.inner_text("body")
    assert len(fake.calls_to("externalcontact/add_corp_tag")) == before


async def _tag_event(fake: FakeWeCom, tag_type: str, change: str, item_id: str) -> None:
    xml = fake_xml.render([
        ("ToUserName", fake.state.corp_id), ("FromUserName", "sys"),
        ("CreateTime", int(time.time())), ("MsgType", "event"),
        ("Event", "change_external_tag"), ("Id", item_id), ("TagType", tag_type),
        ("ChangeType", change),
    ])  # fmt: skip
    assert fake.callback_url
    status, _ = await fake.post_callback(fake.callback_url, xml)
    assert status == 200


async def test_wecom_side_changes_are_mirrored(server: TestServer) -> None:
    fake = server.app[demo.FAKE]
    app = server.app
    # Created in WeCom's admin pages: a group with a tag.
    answer = fake.state.groups
    gid = "etgwecom01"
    answer[gid] = {"group_id": gid, "group_name": "互动", "create_time": 1, "order": 0,
                   "deleted": False, "tag": [{"id": "etwecom01", "name": "高互动",
                                              "create_time": 1, "order": 0, "deleted": False}]}
    await _tag_event(fake, "tag_group", "create", gid)
    await settle(app)
    async with app[DB]() as db:
        tag = await db.get(Tag, "etwecom01")
        assert tag is not None
        assert (tag.name, tag.group_name, tag.deleted) == ("高互动", "互动", False)
        db.add(CustomerTag(external_userid="wmcust2000001", tag_id="etwecom01"))
        await db.commit()
    # Renamed there.
    answer[gid]["tag"][0]["name"] = "常互动"
    await _tag_event(fake, "tag", "update", "etwecom01")
    await settle(app)
    async with app[DB]() as db:
        tag = await db.get(Tag, "etwecom01")
        assert tag is not None
        assert tag.name == "常互动"
    # Reordered (shuffle carries only the group id).
    answer[gid]["tag"][0]["order"] = 5
    await _tag_event(fake, "tag_group", "shuffle", gid)
    await settle(app)
    async with app[DB]() as db:
        tag = await db.get(Tag, "etwecom01")
        assert tag is not None
        assert tag.order == 5
    # Deleted there: gone here too, and off the customer.
    del answer[gid]
    await _tag_event(fake, "tag_group", "delete", gid)
    await settle(app)
    async with app[DB]() as db:
        tag = await db.get(Tag, "etwecom01")
        assert tag is not None
        assert tag.deleted
        left = await db.scalar(select(CustomerTag).where(CustomerTag.tag_id == "etwecom01"))
        assert left is None
