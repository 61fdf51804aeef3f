"""The fake as WeCom's sender: encrypted callbacks, XML builders, sandbox endpoints."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.cache import MemoryCache
from bot.core.errors import WeComError
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient
from bot.wecom.crypto import WeComCrypto, parse_envelope, parse_plain
from tests.wecom.conftest import (
    AES_KEY,
    AGENT_ID,
    CORP_ID,
    SECRET,
    TOKEN,
    ClientFactory,
    Receiver,
    ServerFactory,
)


def test_build_callback_decrypts_with_our_crypto(wecom_fake: FakeWeCom) -> None:
    plain = wecom_fake.xml_app_text("rep1", "你好 ]]> <b>")
    query, body = wecom_fake.build_callback(plain, timestamp="1409659813", nonce="42")
    ours = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    envelope = parse_envelope(body)
    assert envelope["ToUserName"] == CORP_ID
    assert envelope["AgentID"] == str(AGENT_ID)
    assert query["timestamp"] == "1409659813"
    assert query["nonce"] == "42"
    assert ours.verify(query["msg_signature"], "1409659813", "42", envelope["Encrypt"])
    assert ours.decrypt(envelope["Encrypt"]) == plain
    fields = parse_plain(plain)
    assert fields["Content"] == "你好 ]]> <b>"
    assert (fields["ToUserName"], fields["FromUserName"], fields["MsgType"]) == (
        CORP_ID,
        "rep1",
        "text",
    )
    assert fields["AgentID"] == str(AGENT_ID)
    assert fields["MsgId"].isdigit()
    assert fields["CreateTime"].isdigit()


def test_event_xml_builders(wecom_fake: FakeWeCom) -> None:
    add = parse_plain(wecom_fake.xml_add_external_contact("rep1", "wmC1", "spring", "WC1"))
    assert add == {
        "ToUserName": CORP_ID, "FromUserName": "sys", "CreateTime": add["CreateTime"],
        "MsgType": "event", "Event": "change_external_contact",
        "ChangeType": "add_external_contact", "UserID": "rep1", "ExternalUserID": "wmC1",
        "State": "spring", "WelcomeCode": "WC1",
    }  # fmt: skip
    no_code = parse_plain(wecom_fake.xml_add_external_contact("rep1", "wmC1", "", None))
    assert "WelcomeCode" not in no_code
    kf = parse_plain(wecom_fake.xml_kf_event("wkA", "SYNC1"))
    assert (kf["Event"], kf["Token"], kf["OpenKfId"]) == ("kf_msg_or_event", "SYNC1", "wkA")
    assert parse_plain(wecom_fake.xml_kf_event("wkA"))["Token"]


async def test_post_callback_round_trip(wecom_fake: FakeWeCom, receiver: Receiver) -> None:
    plain = wecom_fake.xml_app_text("u", "hi")
    status, reply = await wecom_fake.post_callback(receiver.url, plain)
    assert status == 200
    assert receiver.received[0]["Content"] == "hi"
    assert parse_plain(wecom_fake.open_reply(reply))["Content"] == "echo: hi"
    status, reply = await wecom_fake.post_callback(
        receiver.url, wecom_fake.xml_kf_event("wkA", "T")
    )
    assert (status, reply, wecom_fake.open_reply(reply)) == (200, b"", b"")


async def test_wrong_token_is_refused(receiver: Receiver) -> None:
    impostor = FakeWeCom(corp_id=CORP_ID, secret=SECRET, token="other", aes_key=AES_KEY,
                         agent_id=AGENT_ID)  # fmt: skip
    status, _ = await impostor.post_callback(receiver.url, impostor.xml_app_text("u", "hi"))
    assert status == 403
    assert receiver.received == []


async def _event(
    http: aiohttp.ClientSession, server: TestServer, event: dict[str, str]
) -> tuple[int, dict[str, object]]:
    async with http.post(server.make_url("/_events"), json=event) as resp:
        return resp.status, await resp.json()


async def test_sandbox_events(
    wecom_fake: FakeWeCom,
    wecom_server: TestServer,
    receiver: Receiver,
    http: aiohttp.ClientSession,
    make_client: ClientFactory,
) -> None:
    wecom_fake.callback_url = receiver.url
    status, out = await _event(http, wecom_server, {"type": "app_text", "userid": "rep1",
                                                    "text": "/help"})  # fmt: skip
    assert status == 200
    assert out["status"] == 200
    assert out["reply_text"] == "echo: /help"
    assert "<Content><![CDATA[echo: /help]]></Content>" in str(out["reply"])

    status, out = await _event(http, wecom_server, {
        "type": "add_external_contact", "userid": "rep1", "external_userid": "wmC1",
        "name": "王女士", "state": "spring",
    })  # fmt: skip
    assert (status, out["status"], out["reply"], out["reply_text"]) == (200, 200, "", "")
    event = receiver.received[-1]
    assert (event["ChangeType"], event["UserID"], event["ExternalUserID"], event["State"]) == (
        "add_external_contact",
        "rep1",
        "wmC1",
        "spring",
    )
    assert event["WelcomeCode"] == out["welcome_code"]
    client = make_client()
    contact = await client.get_external_contact("wmC1")
    assert contact["external_contact"]["name"] == "王女士"
    await client.send_welcome_msg(event["WelcomeCode"], "欢迎")

    status, out = await _event(http, wecom_server, {
        "type": "kf_text", "open_kfid": "wkA", "external_userid": "wmC2", "text": "多少钱",
    })  # fmt: skip
    assert (status, out["status"]) == (200, 200)
    event = receiver.received[-1]
    assert (event["Event"], event["OpenKfId"]) == ("kf_msg_or_event", "wkA")
    synced = await client.kf_sync_msg(event["Token"], event["OpenKfId"])
    assert [m["text"]["content"] for m in synced["msg_list"]] == ["多少钱"]

    async with http.get(wecom_server.make_url("/_calls")) as resp:
        calls = await resp.json()
    assert calls == wecom_fake.calls
    assert [c["path"] for c in calls][-1] == "cgi-bin/kf/sync_msg"
    assert all(set(c) == {"path", "query", "json", "at", "errcode"} for c in calls)
    assert {c["errcode"] for c in calls} == {0}


async def test_sandbox_fault_controls_over_http(
    wecom_fake: FakeWeCom,
    wecom_server: TestServer,
    http: aiohttp.ClientSession,
    make_client: ClientFactory,
) -> None:
    """POST /_faults queues refusals and delays; every call in /_calls carries its errcode."""

    async def fault(body: object) -> tuple[int, Any]:
        async with http.post(wecom_server.make_url("/_faults"), json=body) as resp:
            return resp.status, await resp.json()

    status, listed = await fault({"path": "message/send", "errcode": 45009, "times": 2})
    assert (status, listed["failures"]) == (200, {"message/send": [45009, 45009]})
    client = make_client()
    for _ in range(2):
        with pytest.raises(WeComError) as info:
            await client.post("message/send", {"touser": "a"}, retry=False)
        assert info.value.errcode == 45009
    await client.send_text("rep1", "hi")  # the third goes through
    async with http.get(wecom_server.make_url("/_calls")) as resp:
        sends = [c for c in await resp.json() if c["path"] == "cgi-bin/message/send"]
    assert [c["errcode"] for c in sends] == [45009, 45009, 0]

    status, listed = await fault({"path": "kf/send_msg", "delay": 8})
    assert (status, listed["delays"]) == (200, {"kf/send_msg": 8.0})
    status, listed = await fault({"clear": True})
    assert listed == {"failures": {}, "delays": {}}
    for bad in ({"path": "x"}, {"path": "x", "errcode": "no"}, {"path": "x", "delay": 999}, []):
        status, out = await fault(bad)
        assert status == 400
        assert out["error"].startswith("bad fault")


async def test_sandbox_event_errors(
    wecom_fake: FakeWeCom, wecom_server: TestServer, http: aiohttp.ClientSession,
    unused_tcp_port: int,
) -> None:  # fmt: skip
    status, out = await _event(http, wecom_server, {"type": "app_text", "userid": "u",
                                                    "text": "x"})  # fmt: skip
    assert status == 409
    assert "callback_url" in str(out["error"])
    wecom_fake.callback_url = f"http://127.0.0.1:{unused_tcp_port}/wecom/callback"
    assert (await _event(http, wecom_server, {"type": "bogus"}))[0] == 400
    assert (await _event(http, wecom_server, {"type": "app_text"}))[0] == 400
    status, out = await _event(http, wecom_server, {"type": "app_text", "userid": "u",
                                                    "text": "x"})  # fmt: skip
    assert status == 502


async def test_mounted_as_sandbox_subapp(
    aiohttp_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    fake = FakeWeCom(corp_id=CORP_ID, secret=SECRET, token=TOKEN, aes_key=AES_KEY,
                     agent_id=AGENT_ID)  # fmt: skip
    root = web.Application()
    root.add_subapp("/sandbox/wecom/", fake.app)
    server = await aiohttp_server(root, host="127.0.0.1")
    client = WeComClient(http, MemoryCache(), base_url=str(server.make_url("/sandbox/wecom")),
                         corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID)  # fmt: skip
    await client.send_text("rep1", "hi")
    async with http.get(server.make_url("/sandbox/wecom/_calls")) as resp:
        calls = await resp.json()
    assert [c["path"] for c in calls] == ["cgi-bin/gettoken", "cgi-bin/message/send"]
