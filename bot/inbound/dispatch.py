"""From a decrypted callback to a handled event: de-duplicate, store, route, reply.

The request path commits the event to the inbox, then races the handler against a budget
(~3 s): done in time -> the reply goes back passively in the HTTP response; late -> the
response is empty and the reply goes out as an outbox message when the handler finishes.
The handler's writes and the row's done mark commit together (see EventContext).
A sweeper re-runs rows that a crash or a failure left behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator

from aiohttp import web

from bot.core.db import utcnow
from bot.core.errors import UserError
from bot.core.keys import CACHE, DB, INBOX, INSTANCE, ROUTER, SETTINGS
from bot.core.tasks import periodic_ctx, spawn
from bot.inbound import inbox
from bot.inbound.router import (
    ClaimLostError,
    EventContext,
    Reply,
    ReplyChannel,
    RetryLaterError,
)
from bot.wecom.crypto import parse_plain
from bot.wecom.events import Event

logger = logging.getLogger(__name__)

SEEN_TTL = 600  # WeCom retries within ~15 s; ten minutes is ample for the fast path.
SWEEP_MAX = 200  # rows per sweep run, so one run ends and the next starts afresh


def seen_key(dedup_key: str) -> str:
    """Cache key of the de-duplication fast path (the inbox's unique key is the truth)."""
    return f"wecom:seen:{dedup_key}"


async def accept(
    app: web.Application, event: Event, *, received: float | None = None
) -> Reply | None:
    """Store the event durably and handle it; return a reply to send passively, if any.

    `received` (time.perf_counter() when the request arrived) makes the reply budget count
    from WeCom's clock, not from the handler's start: under load the inbox commit takes time too.
    """
    settings = app[SETTINGS]
    cache = app[CACHE]
    key = event.dedup_key()
    try:
        seen = await cache.exists(seen_key(key))
    except Exception:  # noqa: BLE001 - only the fast path: the inbox's unique key decides
        logger.warning("de-dup cache unavailable; relying on the inbox key", exc_info=True)
        seen = False
    if seen:
        logger.info("callback duplicate kind=%s key=%s (fast path)", event.kind, key)
        return None
    item_id = await app[INBOX].insert(
        dedup_key=key,
        kind=event.kind,
        payload=event.xml,
        instance=app[INSTANCE],
        now=utcnow(),
    )
    try:
        await cache.set(seen_key(key), "1", SEEN_TTL)
    except Exception:  # noqa: BLE001 - as above; the row is committed, carry on
        logger.warning("de-dup cache unavailable; key not cached", exc_info=True)
    if item_id is None:
        logger.info("callback duplicate kind=%s key=%s", event.kind, key)
        return None
    if settings.fault == "kill_after_inbox_commit":
        os.kill(os.getpid(), signal.SIGKILL)
    channel = ReplyChannel()
    task = spawn(app, run_item(app, item_id, event, live=True, channel=channel))
    budget = settings.reply_budget
    if received is not None:
        budget = max(0.0, budget - (time.perf_counter() - received))
    if await _within(task, budget):
        return channel.reply
    channel.close()
    logger.info("handler over budget kind=%s inbox=%s: replying later", event.kind, item_id)
    return None


async def _within(task: asyncio.Task[None], budget: float) -> bool:
    """Wait for task at most budget seconds, leaving it running; True if it finished.

    One future, one timer and one done-callback: asyncio.wait's sets and waiters cost a few
    percent of a callback's CPU time at full load.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(*_: object) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_later(budget, wake)
    task.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


async def run_item(
    app: web.Application,
    item_id: int,
    event: Event,
    *,
    live: bool,
    channel: ReplyChannel,
    attempt: int = 1,
) -> None:
    """Run the handler for one inbox row; its final transaction marks the row done.

    A handler that wrote nothing is marked done here (batched). Its reply goes back passively
    if WeCom still waits, else through the outbox: inside the handler's final transaction when
    it was already late then, or in a small transaction of its own when it became late during
    that commit (a crash in between loses only that reply, never the handler's work).
    """
    handler = app[ROUTER].resolve(event)
    if handler is None:
        logger.info("unhandled event kind=%s inbox=%s: stored, acknowledged", event.kind, item_id)
        await app[INBOX].done(item_id, utcnow(), note="no handler")
        return
    ctx = EventContext(
        event=event, app=app, live=live, item_id=item_id, attempt=attempt, channel=channel
    )
    keeper = _LeaseKeeper(app, item_id)
    try:
        reply = await handler(ctx)
    except ClaimLostError:
        logger.warning("inbox row %s: claim lost; the worker that took it over handles it",
                       item_id)  # fmt: skip
        return
    except UserError as exc:
        reply = Reply(exc.message)
    except RetryLaterError as exc:
        async with app[DB].begin() as session:
            await inbox.retry_soon(session, item_id, reason=str(exc), now=utcnow(),
                                   after=exc.after)  # fmt: skip
        logger.info("inbox row %s retried in %g s: %s", item_id, exc.after, exc)
        return
    except Exception as exc:  # noqa: BLE001 - any handler bug must be recorded, not lost
        await _failed(app, ctx, exc)
        return
    finally:
        keeper.stop()
    reply = reply or ctx.reply
    if ctx.finished:
        if reply is not None and not ctx.reply_recorded and not channel.give(reply):
            await _reply_later(app, ctx, reply)
        return
    if reply is not None and not channel.give(reply):
        async with ctx.transaction() as session:  # done mark and reply message together
            await ctx.record_reply(session, reply)
        return
    await app[INBOX].done(item_id, utcnow())


async def _reply_later(app: web.Application, ctx: EventContext, reply: Reply) -> None:
    async with app[DB].begin() as session:
        await ctx.record_reply(session, reply)


async def _failed(app: web.Application, ctx: EventContext, exc: Exception) -> None:
    """Record a failed attempt (retry with back-off, or park); tell a member who wrote."""
    ref = uuid.uuid4().hex[:8]
    event, item_id = ctx.event, ctx.item_id
    logger.error("handler failed kind=%s inbox=%s ref=%s", event.kind, item_id, ref,
                 exc_info=exc)  # fmt: skip
    async with app[DB].begin() as session:
        assert item_id is not None
        status = await inbox.mark_failed(
            session, item_id, error=f"{type(exc).__name__}: {exc} (ref {ref})", now=utcnow(),
            max_attempts=app[SETTINGS].inbox_max_attempts,
        )  # fmt: skip
        sorry = Reply(f"出错了，请稍后再试（编号 {ref}）")
        if ctx.live and event.msg_type == "text" and not ctx.channel.give(sorry):
            await ctx.record_reply(session, sorry)
    logger.warning("inbox row %s is now %s", item_id, status)


class _LeaseKeeper:
    """Renew a row's claim every third of the lease while its handler runs.

    Without it a handler slower than the lease looks like a crashed worker's claim, and another
    worker's sweep runs the row a second time. A timer, not a task: most handlers finish
    long before the first renewal, and cancelling a timer is all they pay.
    """

    def __init__(self, app: web.Application, item_id: int) -> None:
        self._app = app
        self._item_id = item_id
        self._interval = app[SETTINGS].inbox_lease / 3
        self._stopped = False
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._fire)

    def stop(self) -> None:
        self._stopped = True
        self._timer.cancel()

    def _fire(self) -> None:
        if not self._stopped:
            spawn(self._app, self._renew())

    async def _renew(self) -> None:
        app = self._app
        try:
            kept = await inbox.renew(app[DB], self._item_id, instance=app[INSTANCE], now=utcnow())
        except Exception:  # noqa: BLE001 - a database blip: try again at the next interval
            logger.warning("inbox row %s: lease renewal failed", self._item_id, exc_info=True)
            kept = True
        if not kept:
            logger.warning("inbox row %s: claim lost while its handler runs", self._item_id)
        elif not self._stopped:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._fire)


async def sweep(app: web.Application) -> int:
    """Process the rows that are due (failed retries and crashed claims); return how many."""
    settings = app[SETTINGS]
    lease = settings.inbox_lease
    processed = 0
    # One row at a time, looked up afresh: a claim taken for a row still waiting its turn would
    # run out while earlier rows are handled (and another worker would take it too), and an
    # urgent row (a welcome's add event) that fell due meanwhile must go next, not last.
    for _ in range(SWEEP_MAX):
        due = await inbox.due_ids(app[DB], now=utcnow(), lease=lease, limit=1)
        if not due:
            break
        item = await inbox.claim(
            app[DB], due[0], instance=app[INSTANCE], now=utcnow(), lease=lease
        )
        if item is None:
            continue  # another worker took it
        processed += 1
        logger.info("inbox replay id=%s kind=%s attempt=%s", item.id, item.kind, item.attempts)
        event = Event(fields=parse_plain(item.payload.encode()), xml=item.payload)
        channel = ReplyChannel(passive_open=False)
        await run_item(app, item.id, event, live=False, channel=channel, attempt=item.attempts)
    return processed


# Sweep once at start-up (what a crash left) and then periodically.
sweeper_ctx = periodic_ctx("inbox sweep", sweep, lambda app: app[SETTINGS].inbox_sweep_interval)


async def release_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: on shutdown, after handlers finished or were cancelled, give back the
    inbox rows this instance still claims (see `inbox.release`)."""
    yield
    try:
        released = await inbox.release(app[DB], instance=app[INSTANCE], now=utcnow())
    except Exception:  # noqa: BLE001 - the lease still hands them over, later
        logger.warning("inbox: releasing claims on shutdown failed", exc_info=True)
        return
    if released:
        logger.info("inbox: %d claimed rows released on shutdown", released)
