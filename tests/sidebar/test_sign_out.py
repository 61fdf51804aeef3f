"""Signing out ends every session of the member, including a cookie copied elsewhere."""

from __future__ import annotations

import pytest
from yarl import URL

from bot.sandbox.fake import FakeWeCom
from bot.web import session as sess
from tests.sidebar.conftest import Client, Login

pytestmark = pytest.mark.usefixtures("team")

CARD = "/sidebar/api/customers/wmalice000001"


def _cookie(client: Client) -> str:
    jar = client.session.cookie_jar.filter_cookies(URL(str(client.make_url("/sidebar/"))))
    return jar[sess.COOKIE].value


async def test_sign_out_ends_copies_of_the_session_too(
    client: Client, fake: FakeWeCom, login: Login
) -> None:
    csrf = await login("alice")
    assert (await client.get(CARD)).status == 200
    stolen = {"Cookie": f"{sess.COOKIE}={_cookie(client)}"}
    assert (await client.get(CARD, headers=stolen)).status == 200  # the copy works for now

    resp = await client.post("/sidebar/api/logout", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    assert (await client.get(CARD)).status == 401  # this browser: cookie dropped

    assert (await client.get(CARD, headers=stolen)).status == 401  # the copy is dead as well

    await login("alice")  # a fresh sign-in works again
    assert (await client.get(CARD)).status == 200


async def test_sign_out_needs_the_csrf_token(client: Client, login: Login) -> None:
    await login("alice")
    assert (await client.post("/sidebar/api/logout")).status == 403
    assert (await client.get(CARD)).status == 200
