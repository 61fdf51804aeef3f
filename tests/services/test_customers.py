"""customers / staff services: upserts, seeded roles, ownership rules."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, PermissionDeniedError
from bot.core.settings import Settings
from bot.domain import customers, staff
from bot.domain.models import Staff
from tests.services.conftest import seed_team


async def test_upsert_customer_keeps_known_values(session: AsyncSession) -> None:
    await customers.upsert_customer(session, external_userid="w1", name="张三", corp_name="甲")
    again = await customers.upsert_customer(session, external_userid="w1", avatar="http://a")
    assert (again.name, again.corp_name, again.avatar) == ("张三", "甲", "http://a")


async def test_upsert_follow_reactivates(session: AsyncSession) -> None:
    await customers.upsert_customer(session, external_userid="w1")
    first = await customers.upsert_follow(session, userid="u1", external_userid="w1", state="s")
    first.status = "lost"
    again = await customers.upsert_follow(session, userid="u1", external_userid="w1")
    assert again.id == first.id
    assert (again.status, again.state, again.ended_at) == ("active", "s", None)


async def test_get_staff_seeds_roles(session: AsyncSession, svc_settings: Settings) -> None:
    assert (await customers.get_staff(session, svc_settings, "boss")).role == "admin"
    assert (await customers.get_staff(session, svc_settings, "lead1")).role == "supervisor"
    assert (await customers.get_staff(session, svc_settings, "nobody")).role == "rep"


async def test_settings_raise_but_never_lower_a_role(
    session: AsyncSession, svc_settings: Settings
) -> None:
    session.add(Staff(userid="lead1", role="rep"))
    session.add(Staff(userid="x", role="admin"))
    await session.flush()
    assert (await customers.get_staff(session, svc_settings, "lead1")).role == "supervisor"
    assert (await customers.get_staff(session, svc_settings, "x")).role == "admin"


@pytest.mark.parametrize(
    ("viewer", "euid", "allowed"),
    [
        ("alice", "c1", True),
        ("alice", "c3", False),  # bob's customer
        ("lead1", "c3", True),  # bob is in lead1's department
        ("lead1", "c4", False),  # carol is not
        ("boss", "c4", True),
    ],
)
async def test_require_customer_access(
    session: AsyncSession, viewer: str, euid: str, allowed: bool
) -> None:
    await seed_team(session)
    staff_row = await session.get(Staff, viewer)
    assert staff_row is not None
    if allowed:
        customer = await customers.require_customer_access(session, staff_row, euid)
        assert customer.external_userid == euid
    else:
        with pytest.raises(PermissionDeniedError, match="这不是你的客户"):
            await customers.require_customer_access(session, staff_row, euid)


async def test_require_customer_access_unknown(session: AsyncSession) -> None:
    await seed_team(session)
    alice = await session.get(Staff, "alice")
    assert alice is not None
    with pytest.raises(NotFoundError):
        await customers.require_customer_access(session, alice, "nope")


async def test_rep_of_is_newest_active(session: AsyncSession) -> None:
    await seed_team(session)
    assert await customers.rep_of(session, "c3") == "bob"
    await customers.upsert_follow(session, userid="carol", external_userid="c3")
    assert await customers.rep_of(session, "c3") == "carol"
    await customers.end_follow(
        session, userid="carol", external_userid="c3", status="lost", at=customers.utcnow()
    )
    assert await customers.rep_of(session, "c3") == "bob"
    assert await customers.rep_of(session, "unknown") is None


async def test_set_role_and_team(session: AsyncSession) -> None:
    await seed_team(session)
    lead = await staff.set_role(session, userid="carol", role="supervisor", departments=[2, 1])
    assert lead.departments == [1, 2]
    assert await staff.team_userids(session, lead) == {"alice", "bob", "carol", "lead1"}
