"""`/tag 张三 VIP` failed with 没有标签「VIP」 although the docs use it as the example, and
neither /tags nor the sidebar could create a tag.

Supervisors and admins now create a missing tag (in WeCom first, add_corp_tag, before the
transaction) from /tag and from the sidebar; reps pick from the library and get suggestions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import tags
from bot.domain.models import CustomerTag, Tag
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say
from tests.sidebar.conftest import Client, sign_in

Maker = async_sessionmaker[AsyncSession]


async def _tag_names(sm: Maker, euid: str) -> set[str]:
    async with sm() as session:
        rows = await session.scalars(
            select(Tag.name).join(CustomerTag, CustomerTag.tag_id == Tag.id)
            .where(CustomerTag.external_userid == euid)
        )  # fmt: skip
        return set(rows)


async def test_supervisor_creates_a_tag_with_tag(
    fake: FakeWeCom, team: Any, sessionmaker: Maker
) -> None:
    reply = await say(fake, "lead1", "/tag 张三 新品试用")
    assert "已给 张三 打上：新品试用" in reply
    assert "新建标签：新品试用" in reply
    (created,) = fake.calls_to("externalcontact/add_corp_tag")
    assert created["json"]["tag"] == [{"name": "新品试用"}]
    assert created["json"]["group_name"] == tags.DEFAULT_GROUP
    assert "新品试用" in await _tag_names(sessionmaker, "c1")
    assert "新品试用" in await say(fake, "alice", "/tags 新品")  # in the library for everyone
    (mark,) = fake.calls_to("externalcontact/mark_tag")
    assert mark["json"]["userid"] == "alice"  # through the rep's relation


async def test_rep_gets_suggestions_not_a_new_tag(
    fake: FakeWeCom, team: Any, sessionmaker: Maker
) -> None:
    reply = await say(fake, "alice", "/tag 张三 新品试用")
    assert "没有标签「新品试用」" in reply
    assert "新标签请主管或管理员创建" in reply
    assert not fake.calls_to("externalcontact/add_corp_tag")
    assert await _tag_names(sessionmaker, "c1") == set()


async def test_supervisor_creates_from_the_sidebar(
    client: Client, fake: FakeWeCom, sidebar_team: None, sessionmaker: Maker
) -> None:
    headers = {"X-CSRF-Token": await sign_in(client, fake, "lead1")}
    assert (await (await client.get("/sidebar/api/tags")).json())["can_create"] is True
    url = "/sidebar/api/customers/wmalice000001/tags"
    resp = await client.post(url, json={"add": ["VIP"], "group": "客户等级"}, headers=headers)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["added"], body["created"]) == (["VIP"], ["VIP"])
    (created,) = fake.calls_to("externalcontact/add_corp_tag")
    assert created["json"]["group_name"] == "客户等级"
    assert await _tag_names(sessionmaker, "wmalice000001") == {"VIP"}


async def test_rep_cannot_create_from_the_sidebar(
    client: Client, fake: FakeWeCom, sidebar_team: None, sessionmaker: Maker
) -> None:
    headers = {"X-CSRF-Token": await sign_in(client, fake, "alice")}
    assert (await (await client.get("/sidebar/api/tags")).json())["can_create"] is False
    url = "/sidebar/api/customers/wmalice000001/tags"
    resp = await client.post(url, json={"add": ["VIP"]}, headers=headers)
    assert resp.status == 404
    assert "新标签请主管或管理员创建" in (await resp.json())["message"]
    assert not fake.calls_to("externalcontact/add_corp_tag")
    assert await _tag_names(sessionmaker, "wmalice000001") == set()
