"""Sign-in: WeCom web login on a desktop, OAuth in the WeCom client, the sandbox stand-in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp.test_utils import TestServer

from bot.core.settings import Settings
from console import signin
from tests import conftest
from tests.console import seed
from tests.console.conftest import SignIn

PRODUCTION = Settings(
    corp_id=conftest.CORP_ID, agent_id=conftest.AGENT_ID, secret=conftest.SECRET,
    token=conftest.TOKEN, aes_key=conftest.AES_KEY, session_secret=conftest.SESSION_SECRET,
)  # fmt: skip
BACK = "https://sk.example.com/console/auth/callback"


def test_desktop_uses_wecom_web_login() -> None:
    url = signin.sign_in_url(PRODUCTION, BACK, "st4te", in_client=False)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == signin.WEB_LOGIN
    query = parse_qs(parts.query)
    assert query["login_type"] == ["CorpApp"]
    assert query["appid"] == [conftest.CORP_ID]
    assert query["agentid"] == [str(conftest.AGENT_ID)]
    assert query["redirect_uri"] == [BACK]
    assert query["state"] == ["st4te"]


def test_inside_the_wecom_client_uses_oauth() -> None:
    url = signin.sign_in_url(PRODUCTION, BACK, "st4te", in_client=True)
    assert url.startswith(signin.OAUTH + "?")
    assert url.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(url.split("#")[0]).query)
    assert query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == [BACK]


async def test_sandbox_stand_in_picker_signs_in(server: TestServer, sign_in: SignIn) -> None:
    tab = await sign_in(None)
    await tab.page.goto(str(server.make_url("/console/staff")))
    assert "/sandbox/wecom/wwlogin/sso/login" in tab.page.url  # the fake's web-login page
    await tab.page.get_by_role("link", name="boss").click()
    await tab.page.wait_for_url("**/console/staff")
    assert "员工与角色" in await tab.page.title()
    assert "老板" in await tab.page.locator(".who-name").inner_text()


async def test_rep_gets_a_chinese_403(sign_in: SignIn) -> None:
    tab = await sign_in(seed.IDENTITIES["rep"])
    assert "主管和管理员" in await tab.page.inner_text("body")
    assert await tab.page.locator("[data-status='403']").count() == 1


async def test_forged_state_is_refused(server: TestServer, sign_in: SignIn) -> None:
    tab = await sign_in(None)
    response = await tab.page.goto(
        str(server.make_url("/console/auth/callback?code=abc&state=forged"))
    )
    assert response.status == 400
    assert "登录已过期" in await tab.page.inner_text("body")


async def test_sign_out_ends_the_session(server: TestServer, sign_in: SignIn) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    await tab.page.goto(str(server.make_url("/console/staff")))
    await tab.page.get_by_role("button", name="退出").click()
    await tab.page.wait_for_url("**/console/auth/signed-out")
    await tab.page.goto(str(server.make_url("/console/staff")))
    assert "/wwlogin/sso/login" in tab.page.url


async def test_fake_web_login_checks_the_app(server: TestServer, sign_in: SignIn) -> None:
    tab = await sign_in(None)
    base = "/sandbox/wecom/wwlogin/sso/login?login_type=CorpApp&agentid=1&redirect_uri=http://x/"
    response = await tab.page.goto(str(server.make_url(base + "&appid=wrong")))
    assert response.status == 400


async def test_the_console_address_without_a_slash_leads_in(server: TestServer) -> None:
    """/console typed in the address bar was a 404 (the pages live under /console/)."""
    async with aiohttp.ClientSession() as http, http.get(
        server.make_url("/console"), allow_redirects=False
    ) as resp:
        assert resp.status == 302
        assert resp.headers["Location"] == "/console/"
