"""tags service: local mirror of corp tags, idempotent tagging through mark_tag."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, WeComError
from bot.domain import tags
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient
from tests.services.conftest import seed_team


async def test_ensure_tags_creates_missing_once(
    session: AsyncSession, wecom: WeComClient, fake: FakeWeCom
) -> None:
    first = await tags.ensure_tags(session, wecom, ["VIP", "高意向"])
    again = await tags.ensure_tags(session, wecom, ["高意向", "VIP"])
    assert [t.name for t in first] == ["VIP", "高意向"]
    assert {t.id for t in again} == {t.id for t in first}
    assert len(fake.calls_to("externalcontact/add_corp_tag")) == 1
    assert first[0].group_name == "客户标签"


async def test_add_tags_idempotent(
    session: AsyncSession, wecom: WeComClient, fake: FakeWeCom
) -> None:
    await seed_team(session, fake)
    kw = {"external_userid": "c1", "userid": "alice", "by_kind": "rep", "by": "alice"}
    assert await tags.add_tags(session, wecom, names=["VIP", "高意向"], **kw) == ["VIP", "高意向"]
    assert await tags.add_tags(session, wecom, names=["VIP", "新客"], **kw) == ["新客"]
    assert await tags.add_tags(session, wecom, names=["VIP"], **kw) == []
    marks = fake.calls_to("externalcontact/mark_tag")
    assert len(marks) == 2
    assert len(marks[1]["json"]["add_tag"]) == 1
    names = [t.name for t in await tags.customer_tags(session, "c1")]
    assert sorted(names) == sorted(["VIP", "高意向", "新客"])
    wecom_tags = fake.state.follow("alice", "c1")["tags"]
    assert sorted(t["tag_name"] for t in wecom_tags) == sorted(names)


async def test_remove_tags(session: AsyncSession, wecom: WeComClient, fake: FakeWeCom) -> None:
    await seed_team(session, fake)
    kw = {"external_userid": "c1", "userid": "alice"}
    await tags.add_tags(session, wecom, names=["VIP", "新客"], by_kind="rep", by="alice", **kw)
    assert await tags.remove_tags(session, wecom, names=["VIP", "没有"], **kw) == ["VIP"]
    assert await tags.remove_tags(session, wecom, names=["VIP"], **kw) == []
    assert [t.name for t in await tags.customer_tags(session, "c1")] == ["新客"]


async def test_unknown_tag_suggests_when_not_creating(
    session: AsyncSession, wecom: WeComClient, fake: FakeWeCom
) -> None:
    await seed_team(session, fake)
    await tags.ensure_tags(session, wecom, ["高意向客户", "VIP"])
    with pytest.raises(NotFoundError, match="高意向客户"):
        await tags.add_tags(
            session, wecom, external_userid="c1", userid="alice", names=["高意向"],
            by_kind="rep", by="alice", create_missing=False,
        )  # fmt: skip
    assert not fake.calls_to("externalcontact/mark_tag")


async def test_mark_tag_failure_adds_nothing_locally(
    session: AsyncSession, wecom: WeComClient, fake: FakeWeCom
) -> None:
    await seed_team(session, fake)
    await tags.ensure_tags(session, wecom, ["VIP"])
    fake.fail_next("externalcontact/mark_tag", 84061)
    with pytest.raises(WeComError):
        await tags.add_tags(
            session, wecom, external_userid="c1", userid="alice", names=["VIP"],
            by_kind="rep", by="alice",
        )  # fmt: skip
    assert await tags.customer_tags(session, "c1") == []


async def test_sync_corp_tags_mirrors_and_deletes(
    session: AsyncSession, wecom: WeComClient, fake: FakeWeCom
) -> None:
    await wecom.add_corp_tag("来源", ["抖音", "官网"])
    assert await tags.sync_corp_tags(session, wecom) == 2
    fake.state.groups.clear()
    assert await tags.sync_corp_tags(session, wecom) == 0
    assert await tags.all_tag_names(session) == []


async def test_ensure_tags_recovers_when_wecom_has_it(
    session: AsyncSession, wecom: WeComClient, fake: FakeWeCom
) -> None:
    await wecom.add_corp_tag("客户标签", ["VIP"])  # created elsewhere, never mirrored
    found = await tags.ensure_tags(session, wecom, ["VIP"])
    assert [t.name for t in found] == ["VIP"]


async def test_suggest_tag_names(session: AsyncSession, wecom: WeComClient) -> None:
    await tags.ensure_tags(session, wecom, ["高意向", "低意向", "投诉"])
    assert (await tags.suggest_tag_names(session, "高意相"))[0] == "高意向"
