"""A supervisor could not reassign to a colleague who never wrote to the app: `/assign 林小姐
lisi`, `/分配 林小姐 李四` and `/role lisi` all answered 找不到员工, and replies showed bare ids.

The command's prepare step now looks such a member up in WeCom's address book (user/get for
a userid, an address-book refresh for a name), before the command's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Staff
from bot.sandbox.fake import FakeWeCom
from tests.helpers import say

TEAM = [("alice", "Alice", [1]), ("bob", "Bob", [1]), ("carol", "Carol", [2]),
        ("lead1", "Lead", [1]), ("boss", "Boss", [1, 2])]  # fmt: skip


def _address_book(fake: FakeWeCom) -> None:
    """WeCom knows the whole team, and dave, who has never written to the app."""
    for userid, name, departments in TEAM:
        fake.add_member(userid, name, departments)
    fake.add_member("dave", "大卫", [1])


async def _dave(sm: async_sessionmaker[AsyncSession]) -> Staff | None:
    async with sm() as session:
        return await session.get(Staff, "dave")


async def test_assign_by_userid(fake: FakeWeCom, team: Any) -> None:
    _address_book(fake)
    reply = await say(fake, "lead1", "/assign 张三 dave")
    assert "已提交转接：张三 → 大卫（dave）" in reply


async def test_assign_by_name_with_the_chinese_alias(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _address_book(fake)
    reply = await say(fake, "lead1", "/分配 张三 大卫")
    assert "已提交转接：张三 → 大卫（dave）" in reply
    dave = await _dave(sessionmaker)
    assert dave is not None
    assert (dave.name, dave.departments, dave.active) == ("大卫", [1], True)


async def test_role_of_an_unseen_member(fake: FakeWeCom, team: Any) -> None:
    _address_book(fake)
    assert "大卫（dave）：客服" in await say(fake, "boss", "/role dave")
    assert "已把 大卫（dave） 设为主管" in await say(fake, "boss", "/role 大卫 主管")


async def test_unknown_member_is_still_not_found_and_not_created(
    fake: FakeWeCom, team: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _address_book(fake)
    assert "找不到员工「nobody」" in await say(fake, "lead1", "/assign 张三 nobody")
    assert "找不到员工「无名氏」" in await say(fake, "lead1", "/assign 张三 无名氏")
    async with sessionmaker() as session:
        assert await session.get(Staff, "nobody") is None
    assert not fake.calls_to("externalcontact/transfer_customer")


async def test_departed_colleague_cannot_take_over(fake: FakeWeCom, team: Any) -> None:
    _address_book(fake)
    fake.add_member("dave", "大卫", [1], status=5)
    reply = await say(fake, "lead1", "/assign 张三 dave")
    assert "大卫（dave） 已停用或已离职" in reply
    assert not fake.calls_to("externalcontact/transfer_customer")
