"""Fixtures for the WeCom protocol layer: the fake on loopback and clients aimed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.cache import Cache, MemoryCache
from bot.sandbox import fake_xml
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient
from bot.wecom.crypto import WeComCrypto, parse_envelope, parse_plain

CORP_ID = "wwprotocol0000001"
SECRET = "protocol-secret"
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
AGENT_ID = 1000007

ServerFactory = Callable[..., Awaitable[TestServer]]
ClientFactory = Callable[..., WeComClient]


@pytest.fixture
def wecom_fake() -> FakeWeCom:
    """A fresh fake WeCom for this test."""
    return FakeWeCom(
        corp_id=CORP_ID, secret=SECRET, token=TOKEN, aes_key=AES_KEY, agent_id=AGENT_ID
    )


@pytest.fixture
async def wecom_server(wecom_fake: FakeWeCom, aiohttp_server: ServerFactory) -> TestServer:
    """The fake served over real HTTP on a free loopback port."""
    return await aiohttp_server(wecom_fake.app, host="127.0.0.1")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The one client session a process would share."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def sleeps() -> list[float]:
    """Back-off pauses the clients asked for (recorded, then taken for real but tiny)."""
    return []


@pytest.fixture
def make_client(
    http: aiohttp.ClientSession, wecom_server: TestServer, sleeps: list[float]
) -> ClientFactory:
    """Build WeComClients aimed at the fake, with a recorded, near-zero back-off."""

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0.001)

    def build(cache: Cache | None = None, **overrides: Any) -> WeComClient:
        options: dict[str, Any] = {
            "base_url": str(wecom_server.make_url("")),
            "corp_id": CORP_ID,
            "secret": SECRET,
            "agent_id": AGENT_ID,
            "timeout": 5.0,
            "sleep": sleep,
        } | overrides
        return WeComClient(http, cache if cache is not None else MemoryCache(), **options)

    return build


class Receiver:
    """A minimal callback endpoint built on our crypto: verify, decrypt, record, echo text."""

    def __init__(self, crypto: WeComCrypto) -> None:
        self.crypto = crypto
        self.received: list[dict[str, str]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        """POST /wecom/callback: 403 on a bad signature, passive echo for text messages."""
        envelope = parse_envelope(await request.read())
        q = request.query
        if not self.crypto.verify(q["msg_signature"], q["timestamp"], q["nonce"],
                                  envelope["Encrypt"]):  # fmt: skip
            return web.Response(status=403)
        message = parse_plain(self.crypto.decrypt(envelope["Encrypt"]))
        self.received.append(message)
        if message.get("MsgType") != "text":
            return web.Response(text="")
        reply = fake_xml.render(
            [
                ("ToUserName", message["FromUserName"]),
                ("FromUserName", message["ToUserName"]),
                ("CreateTime", 1409659813),
                ("MsgType", "text"),
                ("Content", "echo: " + message["Content"]),
            ]  # fmt: skip
        )
        body = self.crypto.build_reply(reply, q["timestamp"], q["nonce"])
        return web.Response(body=body, content_type="text/xml")


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> Receiver:
    """A loopback stand-in for the server's /wecom/callback, with the fake's credentials."""
    recv = Receiver(WeComCrypto(TOKEN, AES_KEY, CORP_ID))
    app = web.Application()
    app.router.add_post("/wecom/callback", recv.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    recv.url = str(server.make_url("/wecom/callback"))
    return recv
