"""Bad input gets a clear status, stores nothing, and the server keeps serving."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core.keys import DB
from bot.domain.models import InboxItem
from bot.sandbox.fake import FakeWeCom
from bot.wecom.crypto import WeComCrypto
from tests import conftest

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<xml><Encrypt>&lol4;</Encrypt></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>"""
DTD_ONLY = b"""<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd">
<xml><Encrypt>abc</Encrypt></xml>"""


async def _stored(client: Any) -> int:
    async with client.app[DB]() as session:
        return int((await session.execute(select(func.count()).select_from(InboxItem))).scalar())


async def _still_serving(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200


def _signed_query(encrypt: str) -> str:
    crypto = WeComCrypto(conftest.TOKEN, conftest.AES_KEY, conftest.CORP_ID)
    sig = crypto.signature("1409659813", "42", encrypt)
    return f"/wecom/callback?msg_signature={sig}&timestamp=1409659813&nonce=42"


async def test_forged_signature_is_403_and_stores_nothing(client: Any, fake: FakeWeCom) -> None:
    crypto = WeComCrypto(conftest.TOKEN, conftest.AES_KEY, conftest.CORP_ID)
    encrypt = crypto.encrypt(fake.xml_app_text("zhangsan", "你好"))
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    url = f"/wecom/callback?msg_signature={'a' * 40}&timestamp=1&nonce=2"
    resp = await client.post(url, data=body)
    assert resp.status == 403
    assert await resp.read() == b""
    assert await _stored(client) == 0
    await _still_serving(client)


async def test_missing_signature_is_403(client: Any) -> None:
    resp = await client.post("/wecom/callback", data="<xml><Encrypt>abc</Encrypt></xml>")
    assert resp.status == 403
    assert await _stored(client) == 0


async def test_ciphertext_signed_with_another_key_is_403(client: Any) -> None:
    other = WeComCrypto("othertoken", conftest.AES_KEY, conftest.CORP_ID)
    encrypt = other.encrypt(b"<xml><MsgType>text</MsgType></xml>")
    sig = other.signature("1", "2", encrypt)
    body = f"<xml><Encrypt>{encrypt}</Encrypt></xml>"
    resp = await client.post(f"/wecom/callback?msg_signature={sig}&timestamp=1&nonce=2", data=body)
    assert resp.status == 403
    assert await _stored(client) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<xml><Encrypt>unterminated",
        b"",
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        DTD_ONLY,
    ],
    ids=["garbage", "truncated", "empty", "billion-laughs", "external-entity", "dtd"],
)
async def test_malformed_or_hostile_xml_is_400(client: Any, body: bytes) -> None:
    resp = await client.post(_signed_query("abc"), data=body)
    assert resp.status == 400
    assert await _stored(client) == 0
    await _still_serving(client)


async def test_authentic_but_hostile_inner_xml_is_400(client: Any) -> None:
    crypto = WeComCrypto(conftest.TOKEN, conftest.AES_KEY, conftest.CORP_ID)
    encrypt = crypto.encrypt(BILLION_LAUGHS)
    resp = await client.post(
        _signed_query(encrypt), data=f"<xml><Encrypt>{encrypt}</Encrypt></xml>"
    )
    assert resp.status == 400
    assert await _stored(client) == 0


async def test_body_over_one_mebibyte_is_413(client: Any) -> None:
    body = b"<xml><Encrypt>" + b"A" * (1024 * 1024 + 10) + b"</Encrypt></xml>"
    resp = await client.post(_signed_query("A"), data=io.BytesIO(body))
    assert resp.status == 413
    assert await _stored(client) == 0
    await _still_serving(client)


async def test_chunked_body_over_one_mebibyte_is_413(client: Any) -> None:
    async def chunks() -> Any:
        for _ in range(300):
            yield b"A" * 4096

    resp = await client.post(_signed_query("A"), data=chunks())
    assert resp.status == 413
    assert await _stored(client) == 0


async def test_unknown_event_is_stored_acknowledged_and_done(client: Any, fake: FakeWeCom) -> None:
    xml = (
        b"<xml><ToUserName><![CDATA[wwtestcorp000001]]></ToUserName>"
        b"<FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>"
        b"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[brand_new_event]]></Event></xml>"
    )
    status, body = await fake.post_callback(fake.callback_url or "", xml)
    assert (status, body) == (200, b"")
    async with client.app[DB]() as session:
        rows = list((await session.execute(select(InboxItem))).scalars())
    assert [(r.kind, r.status, r.last_error) for r in rows] == [
        ("event/brand_new_event", "done", "no handler")
    ]


async def test_wrong_method_and_path(client: Any) -> None:
    assert (await client.put("/wecom/callback")).status == 405
    assert (await client.get("/wecom/nowhere")).status == 404
