"""Request bodies are read in full, within a deadline, before any handler of any face runs.

aiohttp has no body-read timeout: a client sending one byte every few seconds held its
connection (and a handler) open for as long as it liked. And a client that went away mid-body
made the handler's `request.read()` raise, which aiohttp logged as a 20-line ERROR traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core.keys import SETTINGS

logger = logging.getLogger(__name__)

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_LARGE = "sidekick_large_body"

ErrorPage: TypeAlias = Callable[[web.Request, int, str, str], web.Response]
# How a face shows a refused body: (request, status, code, message) -> its own Chinese page or
# JSON. Set on the face's sub-app; this middleware runs outside the faces' error middlewares,
# so without it a member would read aiohttp's English "Request Entity Too Large".
BODY_ERROR_PAGE: web.AppKey[ErrorPage] = web.AppKey("body_error_page")
TOO_LARGE = "提交的内容太大，不能超过 {limit}"
TOO_SLOW = "上传太慢，连接已断开，请检查网络后重试"
ABORTED = "上传中断，请重试"
# Bodies are read whole here, which leaves aiohttp's multipart reader nothing to parse:
# request.post() on one raised (a 500). No face takes multipart (forms are urlencoded, uploads
# raw, APIs JSON), so it is refused before anything runs.
MULTIPART_REFUSED = "不支持这种提交方式（multipart），请在页面上提交"


def allow_large_body(
    max_size: int, admitted: Callable[[web.Request], Awaitable[bool]]
) -> Callable[[Handler], Handler]:
    """Let a handler take bodies up to max_size (an upload) from the requests `admitted`
    passes before the body is read (a signed-in session); the rest keep the app's limit."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, _LARGE, (max_size, admitted))
        return handler

    return mark


def _refusal(request: web.Request, status: int, code: str, message: str) -> web.Response:
    """The refusal as the face that owns the route shows errors, or as plain text (WeCom's
    callbacks and the ingest API have no page)."""
    for app in reversed(request.match_info.apps):
        page = app.get(BODY_ERROR_PAGE)
        if page is not None:
            # As aiohttp does before a sub-app's middlewares: its config (templates) applies.
            request.match_info.current_app = app
            return page(request, status, code, message)
    return web.Response(status=status, text=message)


def _too_large(request: web.Request) -> web.Response:
    limit = request.client_max_size
    size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit // 1024} KB"
    response = _refusal(request, 413, "http_413", TOO_LARGE.format(limit=size))
    response.force_close()  # do not read the rest of an oversized upload
    return response


async def _answer_and_close(request: web.Request) -> web.StreamResponse:
    """408, then close at once: by default aiohttp "lingers" after a response, reading the
    unread rest of the body for another 10 s, the very thing that was too slow."""
    response = _refusal(request, 408, "http_408", TOO_SLOW)
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


@web.middleware
async def read_body_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the body (cached by aiohttp for the handler) within SIDEKICK_BODY_TIMEOUT."""
    if request.method in _NO_BODY or not request.body_exists:
        return await handler(request)
    if request.content_type == "multipart/form-data":
        return _refusal(request, 400, "http_400", MULTIPART_REFUSED)
    large = getattr(request.match_info.handler, _LARGE, None)
    if large is not None and await large[1](request):
        request = request.clone(client_max_size=large[0])
    length = request.content_length
    if length is not None and length > request.client_max_size:
        return _too_large(request)
    deadline = request.config_dict[SETTINGS].body_timeout
    try:
        async with asyncio.timeout(deadline):
            await request.read()
    except web.HTTPRequestEntityTooLarge:  # chunked: the size shows only while reading
        return _too_large(request)
    except TimeoutError:
        logger.warning(
            "request body too slow: %s %s from %s, not complete after %g s",
            request.method, request.path, request.remote, deadline,
        )  # fmt: skip
        return await _answer_and_close(request)
    except ConnectionResetError:
        # The client went away mid-upload: nobody is left to answer, one line is enough.
        logger.warning(
            "request body aborted: %s %s from %s", request.method, request.path, request.remote
        )
        return _refusal(request, 400, "http_400", ABORTED)
    return await handler(request)
