"""Group commit for the inbox: many callbacks' rows in one transaction, each awaited.

Every callback needs its row committed before it is acknowledged, and marked done after it is
handled. Committing each on its own costs a transaction apiece (~0.7 ms through aiosqlite);
here concurrent callbacks share transactions, so the cost per callback falls as load rises,
and each caller still resumes only after its own row is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.keys import ENGINE, INBOX
from bot.domain.models import InboxItem

logger = logging.getLogger(__name__)

MAX_BATCH = 256  # bounds one transaction's time and the statement size


@dataclass
class _Insert:
    row: dict[str, Any]
    future: asyncio.Future[int | None] = field(repr=False)


@dataclass
class _Done:
    item_id: int
    now: datetime
    note: str
    future: asyncio.Future[int | None] = field(repr=False)


class InboxWriter:
    """Serialises inbox writes of this process into batched transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: asyncio.Queue[_Insert | _Done] = asyncio.Queue()
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Start the writer loop on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop; later writes fail at once instead of hanging."""
        self._closed = True
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def insert(
        self, *, dedup_key: str, kind: str, payload: str, instance: str, now: datetime
    ) -> int | None:
        """Commit a new row claimed by this instance; None if the key was already stored."""
        row = {
            "dedup_key": dedup_key,
            "kind": kind,
            "payload": payload,
            "status": "processing",
            "attempts": 1,
            "last_error": "",
            "claimed_by": instance,
            "claimed_at": now,
            "received_at": now,
        }
        future = self._future()
        await self._queue.put(_Insert(row, future))
        return await future

    async def done(self, item_id: int, now: datetime, note: str = "") -> None:
        """Mark a row handled (committed when this returns)."""
        future = self._future()
        await self._queue.put(_Done(item_id, now, note, future))
        await future

    def _future(self) -> asyncio.Future[int | None]:
        if self._closed:
            raise RuntimeError("inbox writer is stopped (the server is shutting down)")
        return asyncio.get_running_loop().create_future()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._engine.begin() as conn:
                    results = await self._write(conn, batch)
            except Exception as exc:  # noqa: BLE001 - every waiter must hear of the failure
                logger.exception("inbox batch of %d failed", len(batch))
                for op in batch:
                    if not op.future.done():
                        op.future.set_exception(exc)
            else:
                for op, result in zip(batch, results, strict=True):
                    if not op.future.done():
                        op.future.set_result(result)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(
        self, conn: AsyncConnection, batch: list[_Insert | _Done]
    ) -> list[int | None]:
        inserts = [op for op in batch if isinstance(op, _Insert)]
        ids: dict[str, int] = {}
        if inserts:
            fresh: dict[str, dict[str, Any]] = {}
            for op in inserts:  # a retry in the same batch as its original is a duplicate
                fresh.setdefault(op.row["dedup_key"], op.row)
            stmt = (
                self._insert(InboxItem)
                .on_conflict_do_nothing(index_elements=["dedup_key"])
                .returning(InboxItem.id, InboxItem.dedup_key)
            )
            # In key order: two workers given the same callbacks (WeCom's retries) then take
            # the unique index's locks in one order, where batches in arrival order deadlocked
            # on PostgreSQL (a 500 to WeCom, seen in the two-worker crash test).
            rows = await conn.execute(stmt, [fresh[key] for key in sorted(fresh)])
            ids = {key: item_id for item_id, key in rows.all()}
        by_note: dict[str, list[_Done]] = {}
        for done in (op for op in batch if isinstance(op, _Done)):
            by_note.setdefault(done.note, []).append(done)
        for note, dones in by_note.items():  # one statement per distinct note, not per row
            await conn.execute(
                update(InboxItem)
                .where(InboxItem.id.in_([d.item_id for d in dones]))
                .values(status="done", processed_at=max(d.now for d in dones), last_error=note)
            )
        results: list[int | None] = []
        claimed: set[str] = set()
        for item in batch:
            if isinstance(item, _Done):
                results.append(None)
                continue
            key = item.row["dedup_key"]
            results.append(ids.get(key) if key not in claimed else None)
            claimed.add(key)
        return results


async def inbox_writer_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the inbox's group-commit writer; drained on shutdown."""
    writer = InboxWriter(app[ENGINE])
    writer.start()
    app[INBOX] = writer
    yield
    await writer.stop()
