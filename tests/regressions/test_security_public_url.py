"""OAuth's redirect_uri and the signed page origin never follow the Host header.

Without SIDEKICK_PUBLIC_URL, `Host: evil.com` gave `redirect_uri=http://evil.com/...`:
production now refuses to start without a public URL, and with one, every origin the sidebar
builds or accepts is that URL. The sandbox keeps working on 127.0.0.1 without configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core.errors import ConfigError
from bot.core.settings import Settings
from tests import conftest
from tests.sidebar.conftest import sign_in

# http, so the test client (plain HTTP) gets the session cookie back.
PUBLIC = "http://sidekick.example.com"
PRODUCTION = {
    "corp_id": conftest.CORP_ID,
    "agent_id": conftest.AGENT_ID,
    "secret": "s",
    "token": "t",
    "aes_key": conftest.AES_KEY,
    "session_secret": "k" * 32,
}


def test_production_without_a_public_url_does_not_start() -> None:
    with pytest.raises(ConfigError, match="SIDEKICK_PUBLIC_URL"):
        Settings(**PRODUCTION).require_complete()  # type: ignore[arg-type]
    Settings(**PRODUCTION, public_url=PUBLIC).require_complete()  # type: ignore[arg-type]
    Settings(sandbox=True).require_complete()  # the sandbox needs none


@pytest.mark.parametrize(
    "bad", ["sidekick.example.com", "ftp://x.example.com", "https://x.example.com/app", "https://"]
)
def test_a_public_url_must_be_an_origin(bad: str) -> None:
    with pytest.raises(ValueError, match="SIDEKICK_PUBLIC_URL|public origin"):
        Settings(public_url=bad)


@pytest.fixture
async def public(db_path: Path, fake_server: TestServer, aiohttp_client: Any) -> Any:
    settings = conftest.make_settings(db_path, fake_server, public_url=PUBLIC + "/")
    return await aiohttp_client(create_app(settings))


async def test_redirect_uri_is_the_public_url_whatever_the_host(public: Any) -> None:
    resp = await public.get(
        "/sidebar/auth/login", headers={"Host": "evil.com"}, allow_redirects=False
    )
    assert resp.status == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["redirect_uri"] == [f"{PUBLIC}/sidebar/auth/callback"]


async def test_jssdk_signs_only_pages_at_the_public_url(public: Any, fake: Any) -> None:
    fake.callback_url = str(public.make_url("/wecom/callback"))
    await sign_in(public, fake, "alice")
    evil = await public.get(
        "/sidebar/api/jssdk", params={"url": "http://evil.com/sidebar/"},
        headers={"Host": "evil.com"},
    )  # fmt: skip
    assert evil.status == 400
    ours = await public.get("/sidebar/api/jssdk", params={"url": f"{PUBLIC}/sidebar/?a=1"})
    assert ours.status == 200
    assert (await ours.json())["url"] == f"{PUBLIC}/sidebar/?a=1"


async def test_sandbox_works_on_loopback_without_configuration(
    db_path: Path, aiohttp_unused_port: Any, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    port = aiohttp_unused_port()
    settings = Settings(sandbox=True, port=port, database_url=f"sqlite+aiosqlite:///{db_path}")
    server = await aiohttp_server(create_app(settings), port=port)
    client = await aiohttp_client(server)
    resp = await client.get("/sidebar/auth/login", allow_redirects=False)
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["redirect_uri"] == [f"http://127.0.0.1:{port}/sidebar/auth/callback"]
