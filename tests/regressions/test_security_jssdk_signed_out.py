"""The sidebar page and /sidebar/api/jssdk refuse signed-out sessions and departed members.

Both checked the cookie's signature only: a copied cookie kept getting JS-SDK signatures after
its member signed out everywhere, and a member who had left the corp still got the page.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from bot.domain.models import Staff
from bot.sandbox.fake import FakeWeCom
from bot.web import session as sess
from tests.sidebar.conftest import Client, sign_in

pytestmark = pytest.mark.usefixtures("sidebar_team")


def _jssdk(client: Client) -> dict[str, str]:
    return {"url": str(client.make_url("/sidebar/"))}


def _cookie(client: Client) -> dict[str, str]:
    jar = client.session.cookie_jar.filter_cookies(URL(str(client.make_url("/sidebar/"))))
    return {"Cookie": f"{sess.COOKIE}={jar[sess.COOKIE].value}"}


async def test_a_signed_out_session_gets_no_signature_and_no_page(
    client: Client, fake: FakeWeCom
) -> None:
    csrf = await sign_in(client, fake, "alice")
    copy = _cookie(client)
    assert (await client.get("/sidebar/api/jssdk", params=_jssdk(client))).status == 200
    await client.post("/sidebar/api/logout", headers={"X-CSRF-Token": csrf})

    signed = await client.get("/sidebar/api/jssdk", params=_jssdk(client), headers=copy)
    assert signed.status == 401
    assert (await signed.json())["error"] == "unauthorized"
    page = await client.get("/sidebar/", headers=copy, allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"].startswith("/sidebar/auth/login")


async def test_a_departed_member_gets_no_signature_and_no_page(
    client: Client, fake: FakeWeCom, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await sign_in(client, fake, "bob")
    async with sessionmaker.begin() as session:  # as the member sync does for status 5
        await session.execute(update(Staff).where(Staff.userid == "bob").values(active=False))

    signed = await client.get("/sidebar/api/jssdk", params=_jssdk(client))
    assert signed.status == 403
    assert (await signed.json())["message"] == "你的账号已停用，请联系管理员"
    page = await client.get("/sidebar/", allow_redirects=False)
    assert page.status == 403
    assert "你的账号已停用" in await page.text()
    assert "csrf" not in await page.text()
