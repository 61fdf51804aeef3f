"""Running the puller: a cleanup context (its loop as a task) and `python -m bot archive`.

The process is a headless aiohttp application: the same cleanup contexts as the server
(database, cache, WeCom client, live knowledge base) with the puller's loop, started and
stopped by an AppRunner without a site. The sandbox runs the same context inside its server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from bot.archive import cursor, keyring
from bot.archive.keyring import Keyring
from bot.archive.puller import Puller
from bot.archive.source import ArchiveSDKError, ArchiveSource
from bot.core.errors import ConfigError
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.core.settings import Settings

logger = logging.getLogger(__name__)

Opener = Callable[[web.Application], Awaitable[tuple[ArchiveSource, Keyring]]]
PULLER = web.AppKey("archive_puller", Puller)
# Longest wait after repeated errors (the SDK's network and secret errors do not fix fast).
MAX_BACKOFF = 300.0


async def run_loop(puller: Puller, stop: asyncio.Event) -> None:
    """Step until stopped: at once after a full batch, else every poll interval; while
    another puller holds the lease, try again every third of a lease."""
    settings = puller.app[SETTINGS]
    backoff = settings.archive_poll
    while not stop.is_set():
        puller.wakeup.clear()
        try:
            outcome = await puller.step()
        except cursor.LeaseLostError:
            logger.warning("archive: lease lost to another puller; batch rolled back")
            outcome = None
        except Exception:  # noqa: BLE001 - one bad batch must not stop the puller for good
            logger.exception("archive: step failed")
            outcome = None
        if outcome is not None and outcome.state == "pulled" and outcome.records >= puller.batch:
            backoff = settings.archive_poll
            continue  # more is waiting
        if outcome is None or outcome.state == "error":
            wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
        elif outcome.state == "waiting":
            wait = min(settings.archive_poll, settings.archive_lease / 3)
        else:
            wait = backoff = settings.archive_poll
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(puller.wakeup.wait(), timeout=wait)


def puller_ctx(opener: Opener) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that opens the source and runs the puller until shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        try:
            source, keys = await opener(app)
        except ArchiveSDKError as exc:
            logger.error("archive: cannot start: code=%d kind=%s: %s", exc.code, exc.kind,
                         exc.message)  # fmt: skip
            await cursor.mark_error(app[DB], app[SETTINGS].corp_id or "default", error=exc,
                                    now=app[CLOCK].now())  # fmt: skip
            raise
        puller = Puller(app, source, keys)
        app[PULLER] = puller
        logger.info("archive: puller %s started, key versions %s", puller.holder, keys.versions)
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(run_loop(puller, stop))
        yield
        stop.set()
        puller.wakeup.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await cursor.release(app[DB], puller.name, holder=puller.holder)
        except Exception:  # noqa: BLE001 - e.g. SQLite busy at shutdown: the lease still ends
            logger.warning("archive: releasing the lease on shutdown failed; another puller "
                           "takes over when it runs out", exc_info=True)  # fmt: skip
        finally:
            await source.close()

    return ctx


def require_settings(settings: Settings) -> None:
    """Stop with one line naming what the production puller is missing (keys are read now)."""
    if settings.sandbox:
        return  # the fake archive hands its keys over
    if not settings.archive_secret.get_secret_value():
        raise ConfigError("SIDEKICK_ARCHIVE_SECRET: 未设置会话存档 Secret (required)")
    keyring.parse(settings.archive_keys.get_secret_value())


async def serve(app: web.Application) -> None:
    """Run the headless app until SIGTERM or SIGINT, then shut down cleanly."""
    runner = web.AppRunner(app, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()  # runs the cleanup contexts: the puller starts here
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
