"""Server-sent events: live customer messages for an open sidebar (any worker, via the cache).

Each worker holds one cache subscription per customer, whatever the number of pages open on
them, and checks access once per event for each signed-in member watching (not once per
stream). A session may hold a few streams per worker; opening more ends its oldest.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.cache import Cache
from bot.core.keys import CACHE, DB
from bot.domain import customers, pipeline
from bot.domain.models import Staff
from bot.web import session as sess
from sidebar import auth, views

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

# A comment line this often keeps proxies from closing an idle stream.
HEARTBEAT = 15.0
# The browser reconnects after this many milliseconds when the stream drops.
RETRY_MS = 3000
# Streams one session may hold on one worker: a page holds one, plus a few tabs and a reload
# whose old stream the server has not yet seen close. One more ends the oldest.
MAX_PER_SESSION = 6
_END = None

# Who a stream is for: (userid, session epoch). Streams of one viewer share each event's check.
Viewer = tuple[str, int]


@dataclass(eq=False)
class Stream:
    """One open event stream: its queue, its viewer and its session."""

    queue: asyncio.Queue[str | None]
    euid: str
    viewer: Viewer
    session: str  # the session's nonce: the cap counts per session
    expires: float  # when the session cookie expires (checked without the database)
    serial: int = field(default_factory=itertools.count().__next__)


@dataclass(eq=False)
class _Topic:
    """The streams of this worker on one customer, fed by one cache subscription."""

    streams: set[Stream]
    pump: asyncio.Task[None] | None = None


class Streams:
    """The open event streams of this worker, grouped by customer."""

    def __init__(self) -> None:
        self._topics: dict[str, _Topic] = {}
        self._pumps: set[asyncio.Task[None]] = set()  # referenced until done, cancelled or not

    def open(
        self,
        euid: str,
        viewer: Viewer,
        session: sess.Session,
        cache: Cache,
        db: async_sessionmaker[AsyncSession],
    ) -> Stream:
        """Register a stream (ending this session's oldest past the cap)."""
        stream = Stream(
            asyncio.Queue(), euid, viewer, f"{session.userid}|{session.nonce}",
            session.issued_at + sess.MAX_AGE,
        )  # fmt: skip
        mine = sorted(
            (s for s in self._all() if s.session == stream.session), key=lambda s: s.serial
        )
        for old in mine[: max(0, len(mine) + 1 - MAX_PER_SESSION)]:
            old.queue.put_nowait(_END)
            self.close(old)
        topic = self._topics.get(euid)
        if topic is None:
            topic = self._topics[euid] = _Topic(set())
            topic.pump = asyncio.get_running_loop().create_task(self._pump(euid, cache, db))
            self._pumps.add(topic.pump)
            topic.pump.add_done_callback(self._pumps.discard)
        topic.streams.add(stream)
        return stream

    def close(self, stream: Stream) -> None:
        """Forget one stream; the customer's subscription ends with its last stream."""
        topic = self._topics.get(stream.euid)
        if topic is None or stream not in topic.streams:
            return
        topic.streams.discard(stream)
        if not topic.streams:
            del self._topics[stream.euid]
            if topic.pump is not None:
                topic.pump.cancel()

    def end_all(self) -> None:
        """Ask every open stream to finish."""
        for stream in list(self._all()):
            stream.queue.put_nowait(_END)

    def _all(self) -> list[Stream]:
        return [s for topic in self._topics.values() for s in topic.streams]

    async def _pump(
        self, euid: str, cache: Cache, db: async_sessionmaker[AsyncSession]
    ) -> None:
        subscription = cache.subscribe(pipeline.sidebar_channel(euid))
        try:
            async for item in subscription:
                topic = self._topics.get(euid)
                if topic is None:
                    return
                streams = list(topic.streams)
                allowed = await _allowed(db, euid, {s.viewer for s in streams})
                now = time.time()
                for stream in streams:
                    ok = allowed[stream.viewer] and now < stream.expires
                    stream.queue.put_nowait(item if ok else _END)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a cache or database outage ends these streams
            logger.warning("sidebar event stream lost customer=%s", euid, exc_info=True)
            topic = self._topics.pop(euid, None)
            for stream in topic.streams if topic is not None else ():
                stream.queue.put_nowait(_END)  # the browsers reconnect
        finally:
            with contextlib.suppress(Exception):
                await subscription.aclose()


STREAMS = web.AppKey("sidebar_streams", Streams)


async def end_streams(app: web.Application) -> None:
    """on_shutdown: close event streams so the server does not wait for them."""
    app[STREAMS].end_all()


async def _allowed(
    db: async_sessionmaker[AsyncSession], euid: str, viewers: set[Viewer]
) -> dict[Viewer, bool]:
    """For each viewer: still signed in (same epoch), active, and allowed this customer.

    One session for all of them: access can end while a page stays open (sign-out, departure,
    the customer moved to another rep), so it is checked again for every event.
    """
    result: dict[Viewer, bool] = {}
    async with db() as session:
        for userid, epoch in viewers:
            staff = await session.get(Staff, userid)
            result[(userid, epoch)] = (
                staff is not None
                and staff.active
                and staff.session_epoch == epoch
                and await customers.can_access(session, staff, euid)
            )
    return result


def _event(data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: customer_message\n{lines}\n".encode()


@routes.get("/api/customers/{external_userid}/events")
async def events(request: web.Request) -> web.StreamResponse:
    """text/event-stream of pipeline events about this customer."""
    euid = request.match_info["external_userid"]
    found = auth.session_of(request)
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        await customers.require_customer_access(db, staff, euid)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",
        }
    )
    streams = request.app[STREAMS]
    stream = streams.open(
        euid, (found.userid, found.epoch), found, request.config_dict[CACHE],
        request.config_dict[DB],
    )  # fmt: skip
    try:
        await response.prepare(request)
        await asyncio.sleep(0)  # let a new subscription start before we say we are connected
        await response.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
        while True:
            try:
                item = await asyncio.wait_for(stream.queue.get(), HEARTBEAT)
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            if item is _END:
                break
            await response.write(_event(item))
    except ConnectionResetError:
        pass  # the page went away
    finally:
        streams.close(stream)
    return response
