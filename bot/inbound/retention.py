"""Retention (PIPL): personal data is kept only as long as it is needed.

- Done inbox rows (decrypted callbacks) go after SIDEKICK_RETAIN_INBOX_DAYS (30): nothing reads a
  done row again, and de-duplication needs minutes.
- Delivered and discarded outbox effects (payloads with message texts and names) go after the
  same period; parked ones stay until an admin acts.
- Message texts are blanked after SIDEKICK_RETAIN_MESSAGE_DAYS (0: kept); the rows stay for the
  statistics.

Every worker runs it hourly (idempotent), and `python -m bot purge` runs it once. Deletes go in
small batches, each its own transaction, so a first purge of a large table never holds the
database's write lock for long.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.keys import CLOCK, DB, SETTINGS
from bot.core.settings import Settings
from bot.core.tasks import periodic_ctx
from bot.domain import privacy
from bot.inbound import inbox
from bot.outbox import effects

logger = logging.getLogger(__name__)

INTERVAL = 3600.0
BATCH = 500


@dataclass(frozen=True)
class Purged:
    """What one purge removed."""

    callbacks: int
    effects: int
    message_texts: int

    def describe(self, settings: Settings) -> str:
        """One bilingual line per kind, saying the period that applies."""
        inbox_days, message_days = settings.retain_inbox_days, settings.retain_message_days
        kept = "保留 kept (SIDEKICK_RETAIN_MESSAGE_DAYS=0)"
        return "\n".join([
            f"已处理的回调 done callbacks: {self._n(self.callbacks, inbox_days)}",
            f"已发送的操作 delivered effects: {self._n(self.effects, inbox_days)}",
            "消息正文 message texts: "
            + (self._n(self.message_texts, message_days) if message_days else kept),
        ])  # fmt: skip

    @staticmethod
    def _n(count: int, days: int) -> str:
        if not days:
            return "保留 kept (0 days)"
        return f"清除 {count} 条 purged {count} (older than {days} days)"


Step = Callable[[AsyncSession, datetime, int], Awaitable[int]]


async def _batches(
    sessionmaker: async_sessionmaker[AsyncSession], step: Step, before: datetime
) -> int:
    total = 0
    while True:
        async with sessionmaker.begin() as session:
            done = await step(session, before, BATCH)
        total += done
        if done < BATCH:
            return total


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, now: datetime
) -> Purged:
    """Apply the retention periods once."""
    counts = {"callbacks": 0, "effects": 0, "message_texts": 0}
    if settings.retain_inbox_days:
        before = now - timedelta(days=settings.retain_inbox_days)
        counts["callbacks"] = await _batches(
            sessionmaker, lambda s, b, n: inbox.purge_done(s, before=b, limit=n), before
        )
        counts["effects"] = await _batches(
            sessionmaker, lambda s, b, n: effects.purge_done(s, before=b, limit=n), before
        )
    if settings.retain_message_days:
        before = now - timedelta(days=settings.retain_message_days)
        counts["message_texts"] = await _batches(
            sessionmaker, lambda s, b, n: privacy.purge_message_texts(s, before=b, limit=n), before
        )
    purged = Purged(**counts)
    if any(counts.values()):
        logger.info("retention purge callbacks=%d effects=%d message_texts=%d",
                    purged.callbacks, purged.effects, purged.message_texts)  # fmt: skip
    return purged


async def _tick(app: web.Application) -> Purged:
    return await purge(app[DB], app[SETTINGS], app[CLOCK].now())


purge_ctx = periodic_ctx("retention purge", _tick, lambda app: INTERVAL)
