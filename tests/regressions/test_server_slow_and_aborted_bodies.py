"""Slow request bodies are cut off; an aborted upload is one WARNING line; a refused body is
told in Chinese, in the form of the face that owns the route.

3,000 connections sending one byte every 10 s all stayed open (aiohttp has no body-read
timeout), and each upload the client abandoned wrote a ~22-line ERROR traceback
("Error handling request ... ConnectionResetError").
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.core import bodies
from tests.conftest import INGEST_TOKEN, make_settings


@pytest.fixture
async def server(
    db_path: Path, fake_server: TestServer, unused_tcp_port: int
) -> AsyncIterator[tuple[str, int]]:
    """The app as production runs it: aiohttp's test server cancels the handler of a client
    that went away, where run_app and the gunicorn worker let its read fail instead."""
    settings = make_settings(db_path, fake_server, body_timeout=0.3)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield "127.0.0.1", unused_tcp_port
    await runner.cleanup()


def _head(path: str, length: int, expect: bool = False) -> bytes:
    extra = "Expect: 100-continue\r\n" if expect else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
        f"Authorization: Bearer {INGEST_TOKEN}\r\n{extra}\r\n"
    ).encode()


@pytest.mark.parametrize("path", ["/wecom/callback?msg_signature=a&timestamp=1&nonce=n",
                                  "/ingest/messages", "/sidebar/api/logout"])  # fmt: skip
async def test_a_slow_body_gets_408_and_the_connection_closes(
    server: tuple[str, int], path: str, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(_head(path, 100) + b"<")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)  # read() returns at EOF: it was closed
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    head, _, body = answer.partition(b"\r\n\r\n")
    if path.startswith("/sidebar/api/"):  # the sidebar's JSON error, as its script reads it
        assert json.loads(body) == {"error": "http_408", "message": bodies.TOO_SLOW}
    else:
        assert body.decode() == bodies.TOO_SLOW
    assert [r.levelname for r in caplog.records if r.name == "bot.core.bodies"] == ["WARNING"]


async def test_an_aborted_upload_is_one_warning(
    server: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for path in ("/wecom/callback?msg_signature=a&timestamp=1&nonce=n", "/ingest/messages"):
        reader, writer = await asyncio.open_connection(*server)
        writer.write(_head(path, 1000, expect=True))
        # "100 Continue": the request reached its route; now send part of the body and leave.
        assert b" 100 " in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.write(b"<xml>")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    for _ in range(200):  # the server notices the closed connections
        if len([r for r in caplog.records if r.name == "bot.core.bodies"]) == 2:
            break
        await asyncio.sleep(0.01)
    ours = [r for r in caplog.records if r.name == "bot.core.bodies"]
    assert [(r.levelname, "aborted" in r.getMessage()) for r in ours] == [("WARNING", True)] * 2
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


TOO_LARGE = bodies.TOO_LARGE.format(limit="1 MB")


async def _post(url: str, body: object, accept: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.post(
        url, data=body, headers={"Accept": accept, "Content-Type": "application/octet-stream"}
    ) as resp:
        return resp.status, resp.content_type, await resp.text()


async def test_an_oversized_body_is_refused_in_chinese_as_each_face_shows_errors(
    server: tuple[str, int],
) -> None:
    """It was aiohttp's English "Request Entity Too Large": the body limit is checked before the
    faces' own error pages run."""
    base = "http://{}:{}".format(*server)
    big = b"x" * (1024 * 1024 + 1)

    def sized() -> io.BytesIO:
        return io.BytesIO(big)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: found while reading
        for _ in range(17):
            yield b"x" * 65536

    page = await _post(f"{base}/console/kb/import?name=a.csv", sized(), "text/html")
    assert page[:2] == (413, "text/html")
    assert TOO_LARGE in page[2]
    for url, body in (
        (f"{base}/console/kb/import?name=a.csv", sized()),
        (f"{base}/console/kb/import?name=a.csv", chunked()),
        (f"{base}/sidebar/api/feedback", sized()),
    ):
        status, kind, text = await _post(url, body, "application/json")
        assert (status, kind) == (413, "application/json"), url
        assert json.loads(text) == {"error": "http_413", "message": TOO_LARGE}
    callback_url = f"{base}/wecom/callback?msg_signature=a&timestamp=1&nonce=n"
    assert await _post(callback_url, sized(), "*/*") == (413, "text/plain", TOO_LARGE)


async def test_a_multipart_body_is_refused_in_chinese_by_every_face(
    server: tuple[str, int],
) -> None:
    """Bodies are read whole before any handler, so request.post() on multipart raised (a 500
    with a traceback): no face takes multipart, and each says so in its own form."""
    base = "http://{}:{}".format(*server)
    for url in (f"{base}/sidebar/api/feedback", f"{base}/console/kb/import/confirm"):
        form = aiohttp.FormData({"token": "x"})
        form.add_field("file", b"id,question,answer\n", filename="kb.csv")
        async with aiohttp.ClientSession() as http, http.post(
            url, data=form, headers={"Accept": "application/json"}
        ) as resp:
            assert resp.status == 400, url
            assert await resp.json() == {"error": "http_400", "message": bodies.MULTIPART_REFUSED}
