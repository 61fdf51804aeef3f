"""WeComClient over real HTTP against the fake: token sharing, retry policy, tickets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.core.cache import MemoryCache, open_cache
from bot.core.errors import WeComError
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import (
    WeComClient,
    agent_ticket_key,
    cache_ttl,
    jsapi_signature,
    jsapi_ticket_key,
    token_key,
)
from tests.wecom.conftest import CORP_ID, SECRET, ClientFactory


def test_jsapi_signature_sample() -> None:
    ticket = (
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    )
    args = (ticket, "Wm3WZYTPz0wzccnW", "1414587457")
    expected = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    assert jsapi_signature(*args, "http://mp.weixin.qq.com?params=value") == expected
    assert jsapi_signature(*args, "http://mp.weixin.qq.com?params=value#frag=1") == expected
    assert jsapi_signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457,
                           "http://mp.weixin.qq.com?params=value") == expected  # fmt: skip


def test_cache_ttl() -> None:
    assert cache_ttl(7200) == 6900
    assert cache_ttl(100) == 50  # short lives: half, never negative


def test_keys_hide_the_secret() -> None:
    assert token_key("ww1", "s3cret").startswith("wecom:token:ww1:")
    assert "s3cret" not in token_key("ww1", "s3cret")
    assert token_key("ww1", "a") != token_key("ww1", "b")
    assert jsapi_ticket_key("ww1", "a").startswith("wecom:jsticket:ww1:")
    assert agent_ticket_key("ww1", 7, "a").startswith("wecom:agentticket:ww1:7:")


async def test_token_cached(wecom_fake: FakeWeCom, make_client: ClientFactory) -> None:
    cache = MemoryCache()
    client = make_client(cache)
    await client.send_text("rep1", "one")
    await client.send_text(["rep1", "rep2"], "two")
    assert len(wecom_fake.calls_to("gettoken")) == 1
    assert await cache.get(token_key(CORP_ID, SECRET)) == await client.access_token()
    sends = wecom_fake.calls_to("message/send")
    assert [c["json"]["touser"] for c in sends] == ["rep1", "rep1|rep2"]
    assert all("access_token" not in c["query"] for c in wecom_fake.calls)
    assert wecom_fake.calls_to("gettoken")[0]["query"] == {"corpid": CORP_ID, "corpsecret": "***"}


async def test_50_concurrent_calls_without_token(
    wecom_fake: FakeWeCom, make_client: ClientFactory
) -> None:
    client = make_client()
    await asyncio.gather(*(client.send_text(f"rep{i}", f"m{i}") for i in range(50)))
    assert len(wecom_fake.calls_to("gettoken")) == 1
    assert len(wecom_fake.calls_to("message/send")) == 50


async def test_50_concurrent_calls_with_expired_token(
    wecom_fake: FakeWeCom, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.send_text("rep1", "warm up")
    wecom_fake.expire_tokens()  # WeCom revoked it; our cache still holds it
    before = len(wecom_fake.calls)
    await asyncio.gather(*(client.send_text(f"rep{i}", f"m{i}") for i in range(50)))
    later = wecom_fake.calls[before:]
    assert [c["path"] for c in later].count("cgi-bin/gettoken") == 1
    assert [c["path"] for c in later].count("cgi-bin/message/send") == 100  # 50 x 42001 + 50 ok


async def test_50_concurrent_calls_after_cache_ttl(
    wecom_fake: FakeWeCom, make_client: ClientFactory
) -> None:
    wecom_fake.expires_in = 1  # cached for 0.5 s
    client = make_client()
    await client.send_text("rep1", "warm up")
    await asyncio.sleep(0.6)
    await asyncio.gather(*(client.send_text(f"rep{i}", f"m{i}") for i in range(50)))
    assert len(wecom_fake.calls_to("gettoken")) == 2


async def test_42001_mid_flight_refreshes_once(
    wecom_fake: FakeWeCom, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.access_token()
    wecom_fake.fail_next("message/send", 42001)
    result = await client.send_text("rep1", "hi")
    assert result["errcode"] == 0
    assert len(wecom_fake.calls_to("gettoken")) == 2
    assert len(wecom_fake.calls_to("message/send")) == 2


@pytest.mark.parametrize("errcode", [40014, 42001, 41001])
async def test_token_error_retried_only_once(
    wecom_fake: FakeWeCom, make_client: ClientFactory, errcode: int
) -> None:
    client = make_client()
    wecom_fake.fail_next("message/send", errcode, times=2)
    with pytest.raises(WeComError) as info:
        await client.send_text("rep1", "hi")
    assert (info.value.errcode, info.value.path) == (errcode, "message/send")
    assert len(wecom_fake.calls_to("message/send")) == 2


@pytest.mark.parametrize("errcode", [-1, 45009, 45033])
async def test_busy_backs_off_then_succeeds(
    wecom_fake: FakeWeCom, make_client: ClientFactory, sleeps: list[float], errcode: int
) -> None:
    client = make_client(backoff=0.2)
    wecom_fake.fail_next("message/send", errcode, times=2)
    assert (await client.send_text("rep1", "hi"))["errcode"] == 0
    assert len(wecom_fake.calls_to("message/send")) == 3
    assert sleeps == [0.2, 0.4]


async def test_busy_gives_up_after_three_retries(
    wecom_fake: FakeWeCom, make_client: ClientFactory, sleeps: list[float]
) -> None:
    client = make_client()
    wecom_fake.fail_next("message/send", -1, times=10)
    with pytest.raises(WeComError) as info:
        await client.send_text("rep1", "hi")
    assert info.value.errcode == -1
    assert len(wecom_fake.calls_to("message/send")) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("errcode", [48002, 60020, 40001, 84061])
async def test_other_errcodes_raise_at_once(
    wecom_fake: FakeWeCom, make_client: ClientFactory, errcode: int
) -> None:
    client = make_client()
    wecom_fake.fail_next("externalcontact/get", errcode)
    with pytest.raises(WeComError) as info:
        await client.get_external_contact("wmX")
    assert (info.value.errcode, info.value.path) == (errcode, "externalcontact/get")
    assert info.value.errmsg == "injected by a fault"
    assert len(wecom_fake.calls_to("externalcontact/get")) == 1


async def test_wrong_secret_is_not_retried(
    wecom_fake: FakeWeCom, make_client: ClientFactory
) -> None:
    client = make_client(secret="wrong")
    with pytest.raises(WeComError) as info:
        await client.send_text("rep1", "hi")
    assert (info.value.errcode, info.value.path) == (40001, "gettoken")
    assert len(wecom_fake.calls_to("gettoken")) == 1


async def test_timeout_becomes_network_error(
    wecom_fake: FakeWeCom, make_client: ClientFactory, sleeps: list[float]
) -> None:
    client = make_client(timeout=0.2)
    token = await client.access_token()
    wecom_fake.delay("message/send", 1.0)
    with pytest.raises(WeComError) as info:
        await client.send_text("rep1", "hi")
    assert (info.value.errcode, info.value.errmsg) == (-2, "network: timeout")
    assert token not in str(info.value)
    assert len(wecom_fake.calls_to("message/send")) == 4
    assert len(sleeps) == 3


async def test_slow_then_fast_recovers(wecom_fake: FakeWeCom, make_client: ClientFactory) -> None:
    client = make_client(timeout=0.3)
    await client.access_token()
    wecom_fake.delay("message/send", 1.0)
    task = asyncio.create_task(client.send_text("rep1", "hi"))
    await asyncio.sleep(0.35)
    wecom_fake.delay("message/send", 0)
    assert (await task)["errcode"] == 0


async def test_connection_refused(http: aiohttp.ClientSession, unused_tcp_port: int) -> None:
    client = WeComClient(
        http, MemoryCache(), base_url=f"http://127.0.0.1:{unused_tcp_port}", corp_id=CORP_ID,
        secret=SECRET, agent_id=1, retries=1, backoff=0.01,
    )  # fmt: skip
    with pytest.raises(WeComError) as info:
        await client.send_text("rep1", "hi")
    assert info.value.errcode == -2
    assert info.value.path == "gettoken"
    assert info.value.errmsg.startswith("network: Client")


async def test_unknown_path_is_a_network_style_error(make_client: ClientFactory) -> None:
    client = make_client(retries=0)
    with pytest.raises(WeComError) as info:
        await client.get("no/such/api")
    assert (info.value.errcode, info.value.errmsg) == (-2, "network: HTTP 404")


async def test_tickets_cached(wecom_fake: FakeWeCom, make_client: ClientFactory) -> None:
    cache = MemoryCache()
    client = make_client(cache)
    first = await asyncio.gather(*(client.get_jsapi_ticket() for _ in range(20)))
    agent = await asyncio.gather(*(client.get_agent_ticket() for _ in range(20)))
    assert len(set(first)) == 1
    assert len(set(agent)) == 1
    assert first[0] != agent[0]
    assert await client.get_jsapi_ticket() == first[0]
    assert len(wecom_fake.calls_to("get_jsapi_ticket")) == 1
    calls = wecom_fake.calls_to("ticket/get")
    assert len(calls) == 1
    assert calls[0]["query"] == {"type": "agent_config"}
    assert await cache.get(jsapi_ticket_key(CORP_ID, SECRET)) == first[0]


async def test_webhook_needs_no_token(wecom_fake: FakeWeCom, make_client: ClientFactory) -> None:
    client = make_client()
    payload = {"msgtype": "text", "text": {"content": "新客户 3 位"}}
    assert (await client.webhook_send("robot-key", payload))["errcode"] == 0
    assert [c["path"] for c in wecom_fake.calls] == ["cgi-bin/webhook/send"]
    assert wecom_fake.calls[0]["query"] == {"key": "robot-key"}
    assert wecom_fake.calls[0]["json"] == payload


async def test_single_flight_across_clients_sharing_redis(
    wecom_fake: FakeWeCom, make_client: ClientFactory, redis_url: str, wecom_server: TestServer
) -> None:
    # Two workers: separate clients and connection pools, one Redis. A unique corp per run
    # keeps a reused Redis from answering with an earlier run's token.
    corp = f"wwredis{id(wecom_fake)}"
    wecom_fake.state.corp_id = corp
    caches = [await open_cache(redis_url), await open_cache(redis_url)]
    try:
        clients = [make_client(c, corp_id=corp) for c in caches]
        calls = [clients[i % 2].send_text(f"rep{i}", f"m{i}") for i in range(50)]
        await asyncio.gather(*calls)
        assert len(wecom_fake.calls_to("gettoken")) == 1
        wecom_fake.expire_tokens()
        calls = [clients[i % 2].send_text(f"rep{i}", f"n{i}") for i in range(50)]
        await asyncio.gather(*calls)
        assert len(wecom_fake.calls_to("gettoken")) == 2
        tickets = [clients[i % 2].get_jsapi_ticket() for i in range(20)]
        assert len(set(await asyncio.gather(*tickets))) == 1
        assert len(wecom_fake.calls_to("get_jsapi_ticket")) == 1
    finally:
        for cache in caches:
            await cache.delete(token_key(corp, SECRET))
            await cache.delete(jsapi_ticket_key(corp, SECRET))
            await cache.close()
