"""Delivering effects after commit: claim, send, record the outcome; retry, rate-limit, park.

One `Sender` per worker. A commit that recorded effects wakes it at once (no polling delay:
the welcome must go out within WeCom's 20 s); it also polls, which picks up effects of other
workers, retries that fell due, and claims a crashed worker left behind (older than the lease).
Claims are conditional updates (PostgreSQL: SKIP LOCKED), so two workers never send the same
effect at the same time. No database transaction is open while WeCom is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.errors import WeComError
from bot.core.keys import CLOCK, DB, INSTANCE, OUTBOX, SETTINGS, WECOM
from bot.outbox import effects, kinds
from bot.outbox.model import DONE, OPEN_STATUSES, PARKED, PENDING, SENDING, Effect
from bot.wecom.client import RATE_LIMITED_ERRCODE

logger = logging.getLogger(__name__)

FINAL = (DONE, PARKED)
# Back-off after a failed attempt: base seconds by errcode, doubled per attempt, capped.
_BACKOFF_BASE = {45009: 60.0, 45033: 30.0}
_BACKOFF_DEFAULT = 2.0
_BACKOFF_CAP = 900.0


def backoff(errcode: int | None, attempts: int, now_ts: float) -> float:
    """Seconds to wait before the next attempt (with +-20% jitter against herds)."""
    if errcode == RATE_LIMITED_ERRCODE:
        # Our per-member window is the clock's minute: wait for the next one.
        return 60.0 - now_ts % 60.0 + random.uniform(0.5, 3.0)  # noqa: S311 - jitter only
    base = _BACKOFF_BASE.get(errcode or 0, _BACKOFF_DEFAULT)
    delay = min(_BACKOFF_CAP, base * 2 ** max(0, attempts - 1))
    return float(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter only


class Sender:
    """Delivers this worker's share of the outbox."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        settings = app[SETTINGS]
        self._lease = timedelta(seconds=settings.outbox_lease)
        self._capacity = settings.outbox_concurrency
        self._max_attempts = settings.outbox_max_attempts
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        # Held from a claim until its deliveries are in _inflight: settle() must never see an
        # effect already claimed (SENDING, so drain finds nothing) but not yet in flight.
        self._claiming = asyncio.Lock()
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._closing = False

    # ----------------------------------------------------------------- waking and waiting

    def wake(self, ids: Iterable[int] = ()) -> None:
        """New effects were committed (or a slot freed): look for work now."""
        self._wake.set()

    async def wait(self, ids: Iterable[int], within: float) -> dict[int, Effect]:
        """Wait until these effects are done or parked (at most `within` s); their rows."""
        wanted = list(ids)
        loop = asyncio.get_running_loop()
        futures = []
        for effect_id in wanted:
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(effect_id, []).append(future)
            futures.append(future)
        rows = await self._rows(wanted)
        pending = [f for i, f in zip(wanted, futures, strict=True) if rows[i].status not in FINAL]
        if pending:
            # Another worker may deliver some of them: look again at the end regardless.
            await asyncio.wait(pending, timeout=within)
            rows = await self._rows(wanted)
        for effect_id, future in zip(wanted, futures, strict=True):
            waiting = self._waiters.get(effect_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(effect_id, None)
        return rows

    async def _rows(self, ids: list[int]) -> dict[int, Effect]:
        async with self._app[DB]() as session:
            found = await session.scalars(select(Effect).where(Effect.id.in_(ids)))
            return {e.id: e for e in found}

    # ----------------------------------------------------------------- the loop

    async def run(self) -> None:
        """Deliver until cancelled: on every wake, and every poll interval."""
        poll = self._app[SETTINGS].outbox_poll
        while not self._closing:
            self._wake.clear()
            try:
                await self.pump()
            except Exception:  # noqa: BLE001 - a database blip must not stop delivery for good
                logger.exception("outbox pump failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)

    async def pump(self) -> int:
        """Claim as many due effects as there are free slots and start sending them."""
        free = self._capacity - len(self._inflight)
        if free <= 0:
            return 0  # a finishing delivery wakes the loop
        async with self._claiming:
            claimed = await self._claim(free)
            for effect in claimed:
                task = asyncio.get_running_loop().create_task(self._deliver(effect))
                self._inflight.add(task)
                task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("outbox delivery crashed", exc_info=task.exception())
        self._wake.set()

    async def drain(self, *, limit: int = 10_000) -> int:
        """Deliver everything due now, here, waiting for each round (tests, CLI, shutdown)."""
        total = 0
        while total < limit:
            async with self._claiming:
                claimed = await self._claim(min(self._capacity, limit - total))
            if not claimed:
                break
            await asyncio.gather(*(self._deliver(e) for e in claimed))
            total += len(claimed)
        return total

    async def settle(self) -> None:
        """Return once nothing is in flight and nothing is due now (tests, the CLI)."""
        while True:
            if self._inflight:
                await asyncio.wait(list(self._inflight))
                continue
            if not await self.drain() and not self._inflight:
                return

    async def close(self, grace: float) -> None:
        """Deliver what is due for up to `grace` s, then stop. What is left stays pending, and
        claims still in flight are given back, so another worker sends them at once."""
        self._closing = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settle(), grace)
        inflight = list(self._inflight)
        for task in inflight:
            task.cancel()
        await asyncio.gather(*inflight, return_exceptions=True)
        await self._release()

    async def _release(self) -> None:
        """This instance's `sending` effects go back to `pending` (shutdown)."""
        try:
            async with self._app[DB].begin() as session:
                result = await session.execute(
                    update(Effect)
                    .where(Effect.status == SENDING, Effect.claimed_by == self._app[INSTANCE])
                    .values(status=PENDING, claimed_by="", next_attempt_at=self._app[CLOCK].now())
                    .execution_options(synchronize_session=False)
                )
        except Exception:  # noqa: BLE001 - the lease still hands them over, later
            logger.warning("outbox: releasing claims on shutdown failed", exc_info=True)
            return
        released = int(getattr(result, "rowcount", 0) or 0)
        if released:
            logger.info("outbox: %d claimed effects released on shutdown", released)

    # ----------------------------------------------------------------- claim

    async def _claim(self, limit: int) -> list[Effect]:
        now = self._app[CLOCK].now()
        earlier = aliased(Effect)
        blocked = exists().where(
            earlier.group_key == Effect.group_key,
            earlier.id < Effect.id,
            earlier.status.in_(OPEN_STATUSES),
        )
        due = or_(
            and_(
                Effect.status == PENDING,
                or_(Effect.next_attempt_at.is_(None), Effect.next_attempt_at <= now),
            ),
            and_(Effect.status == SENDING, Effect.claimed_at < now - self._lease),
        )
        picked = (
            select(Effect.id)
            .where(due, or_(Effect.group_key == "", ~blocked))
            .order_by(Effect.priority.desc(), Effect.id)
            .limit(limit)
        )
        async with self._app[DB].begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                picked = picked.with_for_update(skip_locked=True)
            rows = await session.scalars(
                update(Effect)
                .where(Effect.id.in_(picked.scalar_subquery()), due)
                .values(
                    status=SENDING,
                    claimed_by=self._app[INSTANCE],
                    claimed_at=now,
                    attempts=Effect.attempts + 1,
                )
                .returning(Effect)
                .execution_options(synchronize_session=False)
            )
            return sorted(rows, key=lambda e: e.id)

    # ----------------------------------------------------------------- send and record

    async def _deliver(self, effect: Effect) -> None:
        kind = kinds.KINDS.get(effect.kind)
        clock = self._app[CLOCK]
        delivery: kinds.Delivery | None = None
        errcode: int | None = None
        error = ""
        status = DONE
        try:
            if kind is None:
                raise ValueError(f"unknown effect kind {effect.kind!r}")
            ctx = kinds.SendContext(self._app[WECOM], self._app[SETTINGS], clock)
            delivery = await kind.send(ctx, effect.payload)
        except WeComError as exc:
            errcode, error = exc.errcode, f"{exc.errcode} {exc.errmsg}"[:2000]
            assert kind is not None
            judged = kinds.verdict(kind, exc.errcode)
            if judged == "settled":
                delivery = kinds.Delivery(kind.settled[exc.errcode])
            else:
                status = PENDING if judged == "retry" else PARKED
        except Exception as exc:  # noqa: BLE001 - a bug in a kind: retried, then parked
            logger.exception("effect %s (%s) failed", effect.id, effect.kind)
            error, status = f"{type(exc).__name__}: {exc}"[:2000], PENDING
        used = effect.attempts
        if errcode == RATE_LIMITED_ERRCODE:
            used -= 1  # our own per-member window, not a failure: no attempt used up
        elif status == PENDING and used >= self._max_attempts:
            status = PARKED
        await self._record(effect, status, delivery, errcode, error, clock.now(), used)
        self._notify(effect.id)

    async def _record(
        self,
        effect: Effect,
        status: str,
        delivery: kinds.Delivery | None,
        errcode: int | None,
        error: str,
        now: datetime,
        used: int,
    ) -> None:
        values: dict[str, object] = {"status": status, "last_errcode": errcode, "attempts": used}
        if error:
            values["last_error"] = error
        if status == DONE and delivery is not None:
            values |= {"outcome": delivery.outcome, "result": delivery.result, "done_at": now}
        elif status == PENDING:
            delay = backoff(errcode, used, now.timestamp())
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        async with self._app[DB].begin() as session:
            result = await session.execute(
                update(Effect)
                .where(
                    Effect.id == effect.id,
                    Effect.status == SENDING,
                    Effect.claimed_by == self._app[INSTANCE],
                    Effect.attempts == effect.attempts,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                # Our lease ran out and another worker took the effect over: its call counts.
                logger.warning("effect %s: claim lost while sending", effect.id)
                return
            if status == DONE and delivery is not None:
                for then in delivery.then:
                    await effects.add(
                        session, then.kind, then.payload, key=f"after:{effect.id}:{then.key}",
                        group=then.group,
                    )  # fmt: skip
            elif status == PARKED:
                await self._tell_requester(session, effect, errcode)
        log = logger.info if status == DONE else logger.warning
        log(
            "effect %s kind=%s %s outcome=%s errcode=%s attempt=%d",
            effect.id, effect.kind, status, values.get("outcome", ""), errcode, effect.attempts,
        )  # fmt: skip
        if status == PARKED:
            logger.error("effect %s (%s) parked after %d attempts: %s", effect.id, effect.kind,
                         effect.attempts, error)  # fmt: skip

    async def _tell_requester(
        self, session: AsyncSession, effect: Effect, errcode: int | None
    ) -> None:
        """Who asked for a parked effect (payload "notify") hears what failed and why."""
        who = effect.payload.get("notify")
        if not who or effect.kind == "message":
            return
        what = effect.payload.get("what") or effect.kind
        why = kinds.reason_for(effect.payload, errcode)
        text = f"【未能完成】{what}：{why}。已记录为待处理 #{effect.id}，管理员处理后会重试。"
        await effects.add(session, "message", kinds.message_payload(who, text))

    def _notify(self, effect_id: int) -> None:
        for future in self._waiters.get(effect_id, []):
            if not future.done():
                future.set_result(None)


async def outbox_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the sender, woken by every commit that records effects."""
    sender = Sender(app)
    app[OUTBOX] = sender
    app[DB].configure(info={effects.WAKE: sender.wake})
    task = asyncio.get_running_loop().create_task(sender.run())
    yield
    # The loop stops claiming first, so nothing is claimed after close() gives claims back.
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await sender.close(grace=app[SETTINGS].outbox_grace)
