"""tags service: local mirror of corp tags; tagging records mark_tag effects, idempotently."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import NotFoundError
from bot.domain import tags
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient
from tests.services.conftest import seed_team


async def _marks(session: AsyncSession) -> list[dict[str, Any]]:
    query = select(Effect).where(Effect.kind == "mark_tag").order_by(Effect.id)
    rows = await session.scalars(query)
    return [e.payload for e in rows]


async def test_ensure_tags_creates_missing_once(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient, fake: FakeWeCom
) -> None:
    first = await tags.ensure_tags(sm, wecom, ["VIP", "高意向"])
    again = await tags.ensure_tags(sm, wecom, ["高意向", "VIP"])
    assert [t.name for t in first] == ["VIP", "高意向"]
    assert {t.id for t in again} == {t.id for t in first}
    assert len(fake.calls_to("externalcontact/add_corp_tag")) == 1
    assert first[0].group_name == "客户标签"


async def test_add_tags_records_one_mark_per_change(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient, fake: FakeWeCom
) -> None:
    await tags.ensure_tags(sm, wecom, ["VIP", "高意向", "新客"])
    kw: dict[str, Any] = {"external_userid": "c1", "userid": "alice"} | {"by_kind": "rep"}
    kw["by"] = "alice"
    async with sm.begin() as session:
        await seed_team(session, fake)
        assert await tags.add_tags(session, names=["VIP", "高意向"], **kw) == ["VIP", "高意向"]
        assert await tags.add_tags(session, names=["VIP", "新客"], **kw) == ["新客"]
        assert await tags.add_tags(session, names=["VIP"], **kw) == []
        marks = await _marks(session)
        names = [t.name for t in await tags.customer_tags(session, "c1")]
    assert [len(m["add_tag"]) for m in marks] == [2, 1]
    assert (marks[0]["userid"], marks[0]["notify"]) == ("alice", "alice")  # refusals reach her
    assert marks[0]["what"] == "给客户 张三 打标签「VIP、高意向」"
    assert sorted(names) == sorted(["VIP", "高意向", "新客"])


async def test_remove_tags(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient, fake: FakeWeCom
) -> None:
    await tags.ensure_tags(sm, wecom, ["VIP", "新客"])
    kw = {"external_userid": "c1", "userid": "alice"}
    async with sm.begin() as session:
        await seed_team(session, fake)
        await tags.add_tags(session, names=["VIP", "新客"], by_kind="rep", by="alice", **kw)
        assert await tags.remove_tags(session, names=["VIP", "没有"], **kw) == ["VIP"]
        assert await tags.remove_tags(session, names=["VIP"], **kw) == []
        assert [t.name for t in await tags.customer_tags(session, "c1")] == ["新客"]
        marks = await _marks(session)
    assert len(marks[-1]["remove_tag"]) == 1
    assert "notify" not in marks[-1]  # the system removed it (by_kind defaults to rep, by "")


async def test_unknown_tag_suggests_and_records_nothing(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient, fake: FakeWeCom
) -> None:
    await tags.ensure_tags(sm, wecom, ["高意向客户", "VIP"])
    async with sm.begin() as session:
        await seed_team(session, fake)
        with pytest.raises(NotFoundError, match="高意向客户"):
            await tags.add_tags(
                session, external_userid="c1", userid="alice", names=["高意向"],
                by_kind="rep", by="alice",
            )  # fmt: skip
        assert await _marks(session) == []


async def test_sync_corp_tags_mirrors_and_deletes(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient, fake: FakeWeCom
) -> None:
    await wecom.add_corp_tag("来源", ["抖音", "官网"])
    library = await wecom.get_corp_tag_list()  # read first: never inside a transaction
    async with sm.begin() as session:
        assert await tags.sync_corp_tags(session, library) == 2
    fake.state.groups.clear()
    library = await wecom.get_corp_tag_list()
    async with sm.begin() as session:
        assert await tags.sync_corp_tags(session, library) == 0
        assert await tags.all_tag_names(session) == []


async def test_ensure_tags_recovers_when_wecom_has_it(
    sm: async_sessionmaker[AsyncSession], wecom: WeComClient
) -> None:
    await wecom.add_corp_tag("客户标签", ["VIP"])  # created elsewhere, never mirrored
    found = await tags.ensure_tags(sm, wecom, ["VIP"])
    assert [t.name for t in found] == ["VIP"]


async def test_suggest_tag_names(sm: async_sessionmaker[AsyncSession], wecom: WeComClient) -> None:
    await tags.ensure_tags(sm, wecom, ["高意向", "低意向", "投诉"])
    async with sm() as session:
        assert (await tags.suggest_tag_names(session, "高意相"))[0] == "高意向"
