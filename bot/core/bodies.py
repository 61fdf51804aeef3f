"""Request bodies are read in full, within a deadline, before any handler of any face runs.

aiohttp has no body-read timeout: a client sending one byte every few seconds held its
connection (and a handler) open for as long as it liked. And a client that went away mid-body
made the handler's `request.read()` raise, which aiohttp logged as a 20-line ERROR traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core.keys import SETTINGS

logger = logging.getLogger(__name__)

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_LARGE = "sidekick_large_body"


def allow_large_body(
    max_size: int, admitted: Callable[[web.Request], Awaitable[bool]]
) -> Callable[[Handler], Handler]:
    """Let a handler take bodies up to max_size (an upload) from the requests `admitted`
    passes before the body is read (a signed-in session); the rest keep the app's limit."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, _LARGE, (max_size, admitted))
        return handler

    return mark


async def _answer_and_close(request: web.Request) -> web.StreamResponse:
    """408, then close at once: by default aiohttp "lingers" after a response, reading the
    unread rest of the body for another 10 s, the very thing that was too slow."""
    response = web.Response(status=408, text="request body too slow")
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
    large = getattr(request.match_info.handler, _LARGE, None)
    if large is not None and await large[1](request):
        request = request.clone(client_max_size=large[0])
    length = request.content_length
    if length is not None and length > request.client_max_size:
        raise web.HTTPRequestEntityTooLarge(max_size=request.client_max_size, actual_size=length)
    deadline = request.config_dict[SETTINGS].body_timeout
    try:
        async with asyncio.timeout(deadline):
            await request.read()
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
        return web.Response(status=400, text="request body aborted")
    return await handler(request)
