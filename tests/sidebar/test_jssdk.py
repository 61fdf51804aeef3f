"""JS-SDK signatures: the documented sample, the page URL without fragment, cached tickets."""

from __future__ import annotations

import hashlib

import pytest

from bot.core.keys import CACHE
from bot.sandbox.fake import FakeWeCom
from bot.wecom import client as wecom_client
from sidebar import jssdk
from tests import conftest
from tests.sidebar.conftest import Client, Login

# wecom-reference §8.2 (the official sample).
SAMPLE_TICKET = (
    "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
)
SAMPLE_NONCE = "Wm3WZYTPz0wzccnW"
SAMPLE_TIMESTAMP = 1414587457
SAMPLE_URL = "http://mp.weixin.qq.com?params=value"
SAMPLE_SIGNATURE = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_signature_matches_the_documented_sample() -> None:
    got = jssdk.signature(SAMPLE_TICKET, SAMPLE_NONCE, SAMPLE_TIMESTAMP, SAMPLE_URL)
    assert got == SAMPLE_SIGNATURE


def test_fragment_is_not_signed() -> None:
    with_fragment = jssdk.signature(
        SAMPLE_TICKET, SAMPLE_NONCE, str(SAMPLE_TIMESTAMP), SAMPLE_URL + "#/customer/1"
    )
    assert with_fragment == SAMPLE_SIGNATURE


def _sha1(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    raw = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(raw.encode()).hexdigest()


@pytest.mark.usefixtures("team")
async def test_config_endpoint_signs_the_page_with_both_tickets(
    client: Client, login: Login, fake: FakeWeCom
) -> None:
    await login("alice")
    page = str(client.make_url("/sidebar/?sbx=1&x=中文"))
    resp = await client.get("/sidebar/api/jssdk", params={"url": page + "#frag"})
    assert resp.status == 200
    data = await resp.json()
    assert data["url"] == page
    config, agent = data["config"], data["agentConfig"]
    assert config["appId"] == agent["corpid"] == "wwtestcorp000001"
    assert agent["agentid"] == 1000002
    assert "sendChatMessage" in config["jsApiList"]
    # Recompute with the tickets the client fetched from the fake and cached.
    cache = client.app[CACHE]
    corp_ticket = await cache.get(wecom_client.jsapi_ticket_key(conftest.CORP_ID, conftest.SECRET))
    agent_ticket = await cache.get(
        wecom_client.agent_ticket_key(conftest.CORP_ID, conftest.AGENT_ID, conftest.SECRET)
    )
    assert corp_ticket
    assert agent_ticket
    assert corp_ticket != agent_ticket
    ts, nonce = config["timestamp"], config["nonceStr"]
    assert config["signature"] == _sha1(corp_ticket, nonce, ts, page)
    assert agent["signature"] == _sha1(agent_ticket, agent["nonceStr"], agent["timestamp"], page)
    assert fake.calls_to("ticket/get")[0]["query"]["type"] == "agent_config"
    again = await (await client.get("/sidebar/api/jssdk", params={"url": page})).json()
    assert again["url"] == page
    # Tickets are cached: a second page load fetches nothing new from WeCom.
    assert len(fake.calls_to("get_jsapi_ticket")) == 1
    assert len(fake.calls_to("ticket/get")) == 1


@pytest.mark.usefixtures("team")
@pytest.mark.parametrize(
    "url", ["", "https://evil.example/sidebar/", "/sidebar/", "{origin}/sandbox/wecom/_calls"]
)
async def test_only_our_sidebar_pages_are_signed(client: Client, login: Login, url: str) -> None:
    await login("alice")
    origin = str(client.make_url("")).rstrip("/")
    resp = await client.get("/sidebar/api/jssdk", params={"url": url.format(origin=origin)})
    assert resp.status == 400
    assert (await resp.json())["error"] == "usage"


async def test_jssdk_needs_a_session(client: Client) -> None:
    resp = await client.get("/sidebar/api/jssdk", params={"url": "http://x/sidebar/"})
    assert resp.status == 401
