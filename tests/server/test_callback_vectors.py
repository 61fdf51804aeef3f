"""The official WeCom sample vectors pass over real HTTP (wecom-reference §1.8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app import create_app
from bot.core.keys import DB
from bot.domain.models import InboxItem
from bot.wecom.crypto import WeComCrypto
from tests.conftest import make_settings
from tests.helpers import reply_text

SET_A = {
    "token": "QDG6eK",
    "aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "corp_id": "wx5823bf96d3bd56c7",
    "get": {
        "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        "timestamp": "1409659589",
        "nonce": "263014780",
        "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE"
        "7OaBO%2BFZXvnaqQ%3D%3D",
    },
    "echo": b"1616140317555161061",
    "post": {
        "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
        "timestamp": "1409659813",
        "nonce": "1372623149",
    },
    "encrypt": "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhG"
    "d3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs"
    "8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4L"
    "UMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUP"
    "A3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Y"
    "oyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
    "from_user": "mycreate",
    "msgid": "4561255354251345929",
}

SET_B = {
    "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "corp_id": "ww1436e0e65a779aee",
    "get": {
        "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
        "timestamp": "1476416373",
        "nonce": "47744683",
        # Sent with raw "+" characters: the server must not turn them into spaces.
        "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnF"
        "yq6SVHyA==",
    },
    "echo": b"1288432023552776189",
    "post": {
        "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
        "timestamp": "1476422779",
        "nonce": "1597212914",
    },
    "encrypt": "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl"
    "3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde"
    "0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7"
    "MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh"
    "+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+",
    "from_user": "ChenJiaShun",
    "msgid": "1456453720",
}


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


@pytest.fixture(params=[SET_A, SET_B], ids=["set_a", "set_b"])
def vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def vector_client(
    vector: dict[str, Any], db_path: Path, fake_server: TestServer, aiohttp_client: Any
) -> Any:
    settings = make_settings(
        db_path,
        fake_server,
        token=vector["token"],
        aes_key=vector["aes_key"],
        corp_id=vector["corp_id"],
    )
    return await aiohttp_client(create_app(settings))


async def test_url_verification_returns_the_bare_echo(
    vector: dict[str, Any], vector_client: Any
) -> None:
    resp = await vector_client.get("/wecom/callback?" + _query(vector["get"]))
    assert resp.status == 200
    assert await resp.read() == vector["echo"]


async def test_official_post_is_stored_once_and_answered(
    vector: dict[str, Any], vector_client: Any
) -> None:
    body = (
        f"<xml><ToUserName><![CDATA[{vector['corp_id']}]]></ToUserName>"
        f"<Encrypt><![CDATA[{vector['encrypt']}]]></Encrypt>"
        "<AgentID><![CDATA[218]]></AgentID></xml>"
    )
    url = "/wecom/callback?" + _query(vector["post"])
    resp = await vector_client.post(url, data=body)
    assert resp.status == 200
    crypto = WeComCrypto(vector["token"], vector["aes_key"], vector["corp_id"])
    assert "/help" in reply_text(await resp.read(), crypto)

    again = await vector_client.post(url, data=body)  # WeCom's retry of the same message
    assert again.status == 200
    assert await again.read() == b""

    async with vector_client.app[DB]() as session:
        rows = list((await session.execute(select(InboxItem))).scalars())
    assert [(r.dedup_key, r.status) for r in rows] == [(f"msg:{vector['msgid']}", "done")]
    assert vector["from_user"] in rows[0].payload


async def test_url_verification_with_a_wrong_signature_is_refused(
    vector: dict[str, Any], vector_client: Any
) -> None:
    params = dict(vector["get"], msg_signature="0" * 40)
    resp = await vector_client.get("/wecom/callback?" + _query(params))
    assert resp.status == 403
