"""Background tasks that are referenced until done and cancelled on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from bot.core.keys import TASKS

logger = logging.getLogger(__name__)


def spawn(app: web.Application, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run coro in the background; the app keeps a reference so it cannot be collected."""
    tasks = app[TASKS]
    task = asyncio.get_running_loop().create_task(coro)
    tasks.add(task)
    task.add_done_callback(_finished(tasks))
    return task


def _finished(tasks: set[asyncio.Task[None]]) -> Any:
    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    return done


def periodic_ctx(
    name: str,
    work: Callable[[web.Application], Awaitable[object]],
    interval: Callable[[web.Application], float],
    *,
    start_now: bool = True,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running work at start-up (unless start_now=False) and then every
    interval seconds.

    A failed run is logged and the loop goes on: one bad row or a database blip must not stop
    the sweeper or the scheduler for good.
    """

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            if not start_now:
                await asyncio.sleep(interval(app))
            while True:
                try:
                    await work(app)
                except Exception:  # noqa: BLE001 - see the docstring
                    logger.exception("%s failed", name)
                await asyncio.sleep(interval(app))

        task = asyncio.get_running_loop().create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def tasks_ctx(app: web.Application) -> AsyncIterator[None]:
    """Own the task set; on shutdown give running tasks a moment, then cancel them."""
    app[TASKS] = set()
    yield
    running: set[asyncio.Task[None]] = app[TASKS]
    pending = list(running)
    if pending:
        _, still = await asyncio.wait(pending, timeout=5)
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)
