"""Signing in to the sidebar syncs the member from WeCom (user/get) before scoping them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.models import Staff
from bot.sandbox.fake import FakeWeCom
from tests.sidebar.conftest import Client, Login

pytestmark = pytest.mark.usefixtures("team")


async def test_sign_in_syncs_departments_and_scope(
    client: Client, fake: FakeWeCom, login: Login, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Locally lead1 supervises department 1; in WeCom they moved to carol's department 2.
    fake.add_member("lead1", "刘主管", [2])
    fake.add_member("carol", "卡罗尔", [2])
    fake.calls.clear()
    await login("carol")
    csrf = await login("lead1")
    assert [c["query"]["userid"] for c in fake.calls_to("user/get")] == ["carol", "lead1"]
    async with sessionmaker() as session:
        lead = await session.get(Staff, "lead1")
    assert lead is not None
    assert (lead.name, lead.departments, lead.role) == ("刘主管", [2], "supervisor")
    resp = await client.get("/sidebar/api/customers/wmcarol000001")
    assert resp.status == 200
    card = (await resp.json())["customer"]
    assert card["followed_by"] == ["carol"]
    assert card["followed_by_names"] == ["卡罗尔（carol）"]
    assert (await client.get("/sidebar/api/customers/wmalice000001")).status == 403
    note = await client.post(
        "/sidebar/api/customers/wmcarol000001/notes", json={"text": "已回访"},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert note.status == 201
    data = await (await client.get("/sidebar/api/customers/wmcarol000001")).json()
    assert data["notes"][0]["author"] == "刘主管（lead1）"
    await login("lead1")  # a second sign-in the same day does not ask again
    assert len(fake.calls_to("user/get")) == 2


async def test_sign_in_works_when_wecom_refuses(
    client: Client, fake: FakeWeCom, login: Login
) -> None:
    fake.fail_next("user/get", 60011)
    await login("alice")
    assert (await client.get("/sidebar/api/customers/wmalice000001")).status == 200


@pytest.mark.parametrize(("status", "allowed"), [(1, True), (4, True), (2, False), (5, False)])
async def test_a_member_who_left_or_was_disabled_cannot_sign_in(
    client: Client, fake: FakeWeCom, status: int, allowed: bool,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    fake.add_member("alice", "爱丽丝", [1], status=status)
    start = await client.get(
        "/sidebar/auth/login", params={"next": "/sidebar/"}, allow_redirects=False
    )
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    back = await client.get(
        "/sidebar/auth/callback",
        params={"code": fake.issue_oauth_code("alice"), "state": state},
        allow_redirects=False,
    )
    assert (back.status == 302) is allowed
    if not allowed:
        assert back.status == 403
        assert "停用" in await back.text()
    async with sessionmaker() as session:
        alice = await session.get(Staff, "alice")
    assert alice is not None
    assert alice.active is allowed
