"""Sign-in: OAuth via the fake, the session cookie, 401 without it, CSRF on writes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bot.sandbox.fake import FakeWeCom
from bot.web import session as sess
from tests.sidebar.conftest import Client, Login


async def test_page_without_session_redirects_to_wecom_oauth(client: Client) -> None:
    resp = await client.get("/sidebar/?entry=x", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"].startswith("/sidebar/auth/login?next=")
    login = await client.get(resp.headers["Location"], allow_redirects=False)
    target = urlsplit(login.headers["Location"])
    assert target.netloc == "open.weixin.qq.com"
    assert target.fragment == "wechat_redirect"
    query = parse_qs(target.query)
    assert query["scope"] == ["snsapi_base"]
    assert query["appid"] == ["wwtestcorp000001"]
    assert query["redirect_uri"][0].endswith("/sidebar/auth/callback")
    assert query["state"][0].isalnum()


async def test_sign_in_sets_a_signed_httponly_samesite_cookie(
    client: Client, fake: FakeWeCom
) -> None:
    start = await client.get("/sidebar/auth/login", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    back = await client.get(
        "/sidebar/auth/callback",
        params={"code": fake.issue_oauth_code("alice"), "state": state},
        allow_redirects=False,
    )
    assert back.status == 302
    assert back.headers["Location"] == "/sidebar/"
    cookie = back.cookies[sess.COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/sidebar"
    assert "alice" not in cookie.value or "." in cookie.value  # signed, not a bare userid
    calls = fake.calls_to("auth/getuserinfo")
    assert len(calls) == 1


@pytest.mark.parametrize("path", ["/sidebar/api/customers/wmalice000001", "/sidebar/api/tags"])
async def test_api_without_session_is_401(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 401
    body = await resp.json()
    assert body["error"] == "unauthorized"
    assert "登录" in body["message"]


async def test_forged_or_tampered_cookie_is_401(client: Client, login: Login) -> None:
    await login("alice")
    good = client.session.cookie_jar.filter_cookies(client.make_url("/sidebar/api/tags"))
    value = good[sess.COOKIE].value
    head, body, mac = value.split(".")
    forged = sess.sign("not-the-secret", "session", {"u": "bob", "iat": 2_000_000_000, "n": "x"})
    for bad in (f"{head}.{body}.{mac[:-2]}AA", forged, "alice"):
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({sess.COOKIE: bad})
        resp = await client.get("/sidebar/api/tags")
        assert resp.status == 401


def test_expired_session_is_rejected() -> None:
    _, value = sess.new_session("secret", "alice", now=1_000_000)
    assert sess.read_session("secret", value, now=1_000_000 + 60) is not None
    assert sess.read_session("secret", value, now=1_000_000 + sess.MAX_AGE + 1) is None
    assert sess.read_session("other", value, now=1_000_000 + 60) is None


async def test_wrong_state_or_reused_code_is_refused(client: Client, fake: FakeWeCom) -> None:
    start = await client.get("/sidebar/auth/login", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    code = fake.issue_oauth_code("alice")
    bad_state = await client.get(
        "/sidebar/auth/callback", params={"code": code, "state": "0" * 32}, allow_redirects=False
    )
    assert bad_state.status == 400
    assert "登录已过期" in await bad_state.text()
    ok = await client.get(
        "/sidebar/auth/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    assert ok.status == 302
    start = await client.get("/sidebar/auth/login", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    reused = await client.get(
        "/sidebar/auth/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    assert reused.status == 400
    text = await reused.text()
    assert "授权码无效" in text
    assert "Traceback" not in text


async def test_next_cannot_leave_the_sidebar(client: Client, fake: FakeWeCom) -> None:
    for evil in ("https://evil.example/", "//evil.example/x", "/sandbox/wecom/_calls"):
        start = await client.get(
            "/sidebar/auth/login", params={"next": evil}, allow_redirects=False
        )
        state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        back = await client.get(
            "/sidebar/auth/callback",
            params={"code": fake.issue_oauth_code("alice"), "state": state},
            allow_redirects=False,
        )
        assert back.headers["Location"] == "/sidebar/"


async def test_page_embeds_csrf_and_no_userid_is_taken_from_the_page(
    client: Client, login: Login, team: None
) -> None:
    csrf = await login("alice")
    # A userid in the query or the body changes nothing: the session decides who acts.
    resp = await client.post(
        "/sidebar/api/customers/wmbob00000001/notes?userid=bob",
        json={"text": "hi", "userid": "bob"},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status == 403


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "missing token"),
        ({"X-CSRF-Token": "forged"}, "wrong token"),
        ({"X-CSRF-Token": "", "Origin": "http://evil.example"}, "empty token"),
    ],
)
async def test_writes_need_the_csrf_token(
    client: Client, login: Login, team: None, headers: dict[str, str], why: str
) -> None:
    await login("alice")
    resp = await client.post(
        "/sidebar/api/customers/wmalice000001/notes", json={"text": "喜欢蓝色"}, headers=headers
    )
    assert resp.status == 403, why
    assert (await resp.json())["error"] == "csrf"


async def test_right_token_from_another_origin_is_refused(
    client: Client, login: Login, team: None
) -> None:
    csrf = await login("alice")
    resp = await client.post(
        "/sidebar/api/customers/wmalice000001/notes",
        json={"text": "喜欢蓝色"},
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
    )
    assert resp.status == 403
    ok = await client.post(
        "/sidebar/api/customers/wmalice000001/notes",
        json={"text": "喜欢蓝色"},
        headers={"X-CSRF-Token": csrf, "Origin": str(client.make_url("")).rstrip("/")},
    )
    assert ok.status == 201


async def test_csrf_token_of_another_session_is_refused(
    client: Client, login: Login, team: None
) -> None:
    bob_token = await login("bob")
    await login("alice")
    resp = await client.post(
        "/sidebar/api/customers/wmalice000001/notes",
        json={"text": "x"},
        headers={"X-CSRF-Token": bob_token},
    )
    assert resp.status == 403


async def test_non_ascii_state_cookie_and_token_are_refused_not_crashing(
    client: Client, login: Login, team: None
) -> None:
    await client.get("/sidebar/auth/login", allow_redirects=False)
    bad_state = await client.get(
        "/sidebar/auth/callback", params={"code": "x", "state": "中文"}, allow_redirects=False
    )
    assert bad_state.status == 400
    await login("alice")
    resp = await client.post(
        "/sidebar/api/customers/wmalice000001/notes", json={"text": "x"},
        headers={"X-CSRF-Token": "jeton-é"},
    )  # fmt: skip
    assert resp.status == 403
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({sess.COOKIE: "v1.é.é"})
    assert (await client.get("/sidebar/api/tags")).status == 401
