"""Server-sent events: live customer messages for an open sidebar (any worker, via the cache)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.core.errors import UserError
from bot.core.keys import CACHE
from bot.domain import customers, pipeline
from sidebar import auth, views
from sidebar.errors import SessionExpiredError

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

# A comment line this often keeps proxies from closing an idle stream.
HEARTBEAT = 15.0
# The browser reconnects after this many milliseconds when the stream drops.
RETRY_MS = 3000
_END = None


class Streams:
    """The open event streams of this worker, so shutdown can end them at once."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()

    def open(self) -> asyncio.Queue[str | None]:
        """A queue for one stream."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def close(self, queue: asyncio.Queue[str | None]) -> None:
        """Forget one stream."""
        self._queues.discard(queue)

    def end_all(self) -> None:
        """Ask every open stream to finish."""
        for queue in list(self._queues):
            queue.put_nowait(_END)


STREAMS = web.AppKey("sidebar_streams", Streams)


async def end_streams(app: web.Application) -> None:
    """on_shutdown: close event streams so the server does not wait for them."""
    app[STREAMS].end_all()


async def _pump(source: AsyncIterator[str], queue: asyncio.Queue[str | None]) -> None:
    try:
        async for item in source:
            queue.put_nowait(item)
    except Exception:  # noqa: BLE001 - a cache outage ends this stream; the browser reconnects
        logger.warning("sidebar event stream lost its subscription", exc_info=True)
    finally:
        queue.put_nowait(_END)


def _event(data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: customer_message\n{lines}\n".encode()


async def _check_access(request: web.Request, euid: str) -> None:
    """The session is still valid and its (active) member may still see this customer."""
    if auth.current_session(request) is None:  # expired while the stream was open
        raise SessionExpiredError("登录已过期，请重新登录")
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        await customers.require_customer_access(db, staff, euid)


async def _still_allowed(request: web.Request, euid: str) -> bool:
    """Checked again before every event: access can end while a page stays open."""
    try:
        await _check_access(request, euid)
    except UserError:
        return False
    return True


@routes.get("/api/customers/{external_userid}/events")
async def events(request: web.Request) -> web.StreamResponse:
    """text/event-stream of pipeline events about this customer."""
    euid = request.match_info["external_userid"]
    await _check_access(request, euid)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",
        }
    )
    streams = request.app[STREAMS]
    queue = streams.open()
    subscription = request.config_dict[CACHE].subscribe(pipeline.sidebar_channel(euid))
    pump = asyncio.get_running_loop().create_task(_pump(subscription, queue))
    try:
        await response.prepare(request)
        await asyncio.sleep(0)  # let the pump subscribe before we say we are connected
        await response.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            if item is _END or not await _still_allowed(request, euid):
                break
            await response.write(_event(item))
    except ConnectionResetError:
        pass  # the page went away
    finally:
        streams.close(queue)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        await subscription.aclose()
    return response
