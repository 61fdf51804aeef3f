"""One puller step: lease, GetChatData, open every record, store the batch, move the cursor.

The records of a batch are opened (RSA, then DecryptData) and prepared (rules and matching,
with the reads they need) before one transaction stores every message and moves the cursor.
A crash before that commit leaves the cursor where it was: the next puller re-reads the
batch, and messages already stored (same msgid) are skipped, so nothing is done twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import select

from bot.archive import cursor, media, records
from bot.archive.keyring import KeyMismatchError, Keyring, UnknownKeyVersionError
from bot.archive.source import ArchiveSDKError, ArchiveSource, EncryptedRecord
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain import pipeline, pipeline_batch
from bot.domain.archive_models import ArchiveMedia
from bot.domain.models import Message, Staff

logger = logging.getLogger(__name__)

SOURCE = "archive"
# Fault injection for the crash test only: linger inside the batch's open transaction.
SLOW_FAULT = "archive_slow_batch"

State = Literal["waiting", "idle", "pulled", "error"]
# A batch's opened messages and how many of its records were skipped.
Opened = tuple[list[dict[str, Any]], int]


@dataclass
class Outcome:
    """What one step did."""

    state: State
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    error: ArchiveSDKError | None = None
    results: list[pipeline.PipelineResult] = field(default_factory=list)


class Puller:
    """Pulls one corp's archive into the pipeline; many may exist, one holds the lease."""

    def __init__(
        self, app: web.Application, source: ArchiveSource, keyring: Keyring, *,
        holder: str | None = None,
    ) -> None:  # fmt: skip
        self.app = app
        self.source = source
        self.keyring = keyring
        self.holder = holder or uuid.uuid4().hex[:12]
        settings = app[SETTINGS]
        self.name = settings.corp_id or "default"
        self.batch = settings.archive_batch
        self.lease = settings.archive_lease
        self.slow = settings.fault == SLOW_FAULT
        # Set to pull now rather than at the next poll (the sandbox's simulator does).
        self.wakeup = asyncio.Event()
        # The next batch, read while this one is stored: (the seq it follows, its records, the
        # thread opening them). RSA releases the GIL, so opening overlaps with storing.
        self._ahead: tuple[int, list[EncryptedRecord], asyncio.Task[Opened]] | None = None

    async def step(self) -> Outcome:
        """Pull and store one batch, if this puller holds (or can take) the lease."""
        sessionmaker, now = self.app[DB], self.app[CLOCK].now()
        seq = await cursor.acquire(sessionmaker, self.name, holder=self.holder, now=now,
                                   lease=self.lease)  # fmt: skip
        if seq is None:
            return Outcome("waiting")
        ahead, self._ahead = self._ahead, None
        try:
            if ahead is not None and ahead[0] == seq:
                batch = ahead[1]
                opened, skipped = await ahead[2]
            else:
                if ahead is not None:  # the cursor moved meanwhile (another puller's lease)
                    await asyncio.wait([ahead[2]])
                batch = await self.source.get_chat_data(seq, self.batch)
                if not batch:
                    await cursor.mark_ok(sessionmaker, self.name, holder=self.holder, now=now)
                    await media.fetch_pending(self.app, self.source)  # idle time for media
                    return Outcome("idle")
                opened, skipped = await asyncio.to_thread(self._open_all, batch)
            await self._read_ahead(batch[-1].seq)
        except ArchiveSDKError as exc:
            logger.error("archive: %s failed code=%d kind=%s: %s", exc.operation, exc.code,
                         exc.kind, exc.message)  # fmt: skip
            await cursor.mark_error(sessionmaker, self.name, error=exc, now=now)
            return Outcome("error", error=exc)
        outcome = await self._store(seq, batch, opened, skipped)
        logger.info(
            "archive batch seq=%d..%d records=%d stored=%d dup=%d skipped=%d",
            batch[0].seq, batch[-1].seq, outcome.records, outcome.stored, outcome.duplicates,
            outcome.skipped,
        )  # fmt: skip
        for result in outcome.results:
            await pipeline.publish(self.app, result, source=SOURCE)
        if self._ahead is not None:  # the SDK is called by one thread at a time
            await asyncio.wait([self._ahead[2]])
        await media.fetch_pending(self.app, self.source)
        return outcome

    async def _read_ahead(self, after: int) -> None:
        """Fetch the batch after this one and start opening it in a thread.

        A failure here is left for the next step, which reads that batch again itself.
        """
        try:
            batch = await self.source.get_chat_data(after, self.batch)
        except ArchiveSDKError:
            return
        if batch:
            task = asyncio.create_task(asyncio.to_thread(self._open_all, batch))
            self._ahead = (after, batch, task)

    def _open_all(self, batch: list[EncryptedRecord]) -> Opened:
        """RSA-open each record's key and decrypt it (in a thread: CPU only, no I/O)."""
        opened: list[dict[str, Any]] = []
        skipped = 0
        for record in batch:
            try:
                key = self.keyring.open_random_key(record.publickey_ver, record.encrypt_random_key)
                opened.append(self.source.decrypt_data(key, record.encrypt_chat_msg))
            except UnknownKeyVersionError:
                logger.warning("archive: record seq=%d msgid=%s has publickey_ver=%d, which has "
                               "no private key in SIDEKICK_ARCHIVE_KEYS; skipped", record.seq,
                               record.msgid, record.publickey_ver)  # fmt: skip
                skipped += 1
            except KeyMismatchError:
                logger.warning("archive: record seq=%d msgid=%s does not open with the key of "
                               "publickey_ver=%d; skipped", record.seq, record.msgid,
                               record.publickey_ver)  # fmt: skip
                skipped += 1
            except ArchiveSDKError as exc:
                if not exc.per_record:
                    raise
                logger.warning("archive: record seq=%d msgid=%s: DecryptData code=%d; skipped",
                               record.seq, record.msgid, exc.code)  # fmt: skip
                skipped += 1
        return opened, skipped

    async def _classify(self, opened: list[dict[str, Any]]) -> tuple[list[records.Item], int]:
        """Items worth storing, minus those already stored (a re-read after a crash)."""
        ids = set().union(*(records.parties(m) for m in opened)) if opened else set()
        msgids = [str(m.get("msgid") or "")[: records.MSGID_MAX] for m in opened]
        async with self.app[DB]() as session:
            members = set(await session.scalars(select(Staff.userid).where(Staff.userid.in_(ids))))
            seen = set(await session.scalars(select(Message.source_msgid).where(
                Message.source == SOURCE, Message.source_msgid.in_(msgids))))  # fmt: skip
        items, skipped = [], 0
        for message in opened:
            item = records.classify(message, members.__contains__)
            if item.kind == "skip":
                skipped += 1
            elif item.msgid not in seen:
                items.append(item)
        return items, skipped

    async def _store(
        self, seq: int, batch: list[EncryptedRecord], opened: list[dict[str, Any]], skipped: int
    ) -> Outcome:
        items, ignored = await self._classify(opened)
        outcome = Outcome("pulled", records=len(batch), skipped=skipped)
        outcome.duplicates = len(opened) - ignored - len(items)
        entries = []
        for item in items:
            prepared = None
            if item.kind == "customer" and item.is_text:  # reads that decide, before the tx
                prepared = await pipeline.prepare(
                    self.app, source=SOURCE, external_userid=item.external_userid,
                    text=item.text, userid=item.userid,
                )  # fmt: skip
            entries.append(pipeline_batch.Entry(
                "in" if item.kind == "customer" else "out", item.external_userid, item.userid,
                item.text, item.msgid, item.sent_at, prepared,
            ))  # fmt: skip
        media = [
            {"msgid": i.msgid, "msgtype": i.media.msgtype, "sdkfileid": i.media.sdkfileid,
             "md5sum": i.media.md5sum, "size": i.media.size,
             "external_userid": i.external_userid, "userid": i.userid}
            for i in items if i.media is not None
        ]  # fmt: skip
        async with self.app[DB].begin() as session:
            # The cursor moves first: this UPDATE opens the transaction. On SQLite a SAVEPOINT
            # as the first statement (rule actions use them) is a transaction of its own that
            # its RELEASE commits, which would let part of a batch outlive a crash.
            await cursor.advance(session, self.name, holder=self.holder, from_seq=seq,
                                 to_seq=batch[-1].seq, skipped=skipped,
                                 now=self.app[CLOCK].now())  # fmt: skip
            outcome.results = await pipeline_batch.record_batch(
                self.app, session, source=SOURCE, entries=entries
            )
            await pipeline_batch.insert_ignore_many(session, ArchiveMedia, media)
            if self.slow:
                await asyncio.sleep(0.02 * len(entries))
        outcome.stored = len(entries)
        return outcome
