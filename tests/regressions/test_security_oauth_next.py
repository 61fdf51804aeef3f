"""The OAuth `next` is a short, printable /sidebar/ path; anything else falls back to /sidebar/.

A 5000-character `next` went into the signed state cookie (about 7 KB, over browsers' 4 KB
cookie limit), so sign-in silently failed with 「登录已过期」; control characters were kept too.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bot.sandbox.fake import FakeWeCom
from sidebar import auth
from tests.sidebar.conftest import Client


@pytest.mark.parametrize(
    "value",
    ["/sidebar/" + "a" * 5000, "/sidebar/\r\nSet-Cookie: x=1", "/sidebar/\x00", "//evil.example/",
     "https://evil.example/sidebar/", "/sidebar\\..\\evil", "/other/"],
)  # fmt: skip
def test_unsafe_next_falls_back_home(value: str) -> None:
    assert auth.safe_next(value) == auth.HOME


def test_ordinary_next_is_kept() -> None:
    assert auth.safe_next("/sidebar/?entry=single_chat_tools&x=%E4%B8%AD") == (
        "/sidebar/?entry=single_chat_tools&x=%E4%B8%AD"
    )


async def test_long_next_still_signs_in(
    client: Client, fake: FakeWeCom, sidebar_team: None
) -> None:
    start = await client.get(
        "/sidebar/auth/login", params={"next": "/sidebar/" + "a" * 5000}, allow_redirects=False
    )
    assert len(start.headers["Set-Cookie"]) < 1024
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    back = await client.get(
        "/sidebar/auth/callback",
        params={"code": fake.issue_oauth_code("alice"), "state": state},
        allow_redirects=False,
    )
    assert back.status == 302
    assert back.headers["Location"] == auth.HOME
