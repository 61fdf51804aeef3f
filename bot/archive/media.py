"""Optional, bounded media fetch: GetMediaData into SIDEKICK_ARCHIVE_MEDIA_DIR, resumable.

Messages keep a reference (archive_media) whatever happens here. With a directory set, a few
files are fetched after each batch: chunk by chunk, saving GetMediaData's `indexbuf` and the
bytes on disk after each chunk, so a restart continues where it stopped. A file larger than
SIDEKICK_ARCHIVE_MEDIA_MAX (as announced, or as it turns out) is left as a reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from aiohttp import web
from sqlalchemy import select, update

from bot.archive.source import ArchiveSDKError, ArchiveSource
from bot.core.keys import DB, SETTINGS
from bot.domain.archive_models import ArchiveMedia

logger = logging.getLogger(__name__)

PER_STEP = 5
SUFFIX = {"image": ".jpg", "voice": ".amr", "video": ".mp4", "emotion": ".gif"}
# A file id WeCom no longer knows: retrying cannot help.
FINAL_CODES = (10005,)


def _path(directory: Path, row: ArchiveMedia) -> Path:
    # msgids are WeCom's text; a digest keeps file names safe and fixed-length.
    digest = hashlib.sha256(row.msgid.encode()).hexdigest()[:32]
    return directory / f"{digest}{SUFFIX.get(row.msgtype, '.bin')}"


async def _save(app: web.Application, row_id: int, **values: object) -> None:
    async with app[DB].begin() as session:
        await session.execute(
            update(ArchiveMedia).where(ArchiveMedia.id == row_id).values(**values)
        )


async def fetch_pending(app: web.Application, source: ArchiveSource) -> int:
    """Fetch up to PER_STEP referenced files; how many were completed."""
    settings = app[SETTINGS]
    if not settings.archive_media_dir:
        return 0
    directory = Path(settings.archive_media_dir)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    async with app[DB]() as session:
        rows = list(await session.scalars(
            select(ArchiveMedia).where(ArchiveMedia.status.in_(("ref", "fetching")))
            .order_by(ArchiveMedia.id).limit(PER_STEP)
        ))  # fmt: skip
    done = 0
    for row in rows:
        done += await fetch_one(app, source, row, directory, settings.archive_media_max)
    return done


async def fetch_one(
    app: web.Application, source: ArchiveSource, row: ArchiveMedia, directory: Path, cap: int
) -> bool:
    """Fetch one file from where it stopped; True when it is complete on disk."""
    if row.size > cap:
        await _save(app, row.id, status="too_large")
        return False
    final = _path(directory, row)
    part = final.with_name(final.name + ".part")
    indexbuf, fetched = row.indexbuf, row.fetched
    if fetched and not await asyncio.to_thread(part.exists):
        indexbuf, fetched = "", 0  # the partial file is gone: start again
    while True:
        try:
            chunk = await source.get_media_data(row.sdkfileid, indexbuf)
        except ArchiveSDKError as exc:
            logger.warning("archive media msgid=%s: GetMediaData code=%d kind=%s", row.msgid,
                           exc.code, exc.kind)  # fmt: skip
            status = "failed" if exc.code in FINAL_CODES else "fetching"
            await _save(app, row.id, status=status, error=exc.message[:255])
            return False
        if fetched + len(chunk.data) > cap:
            await asyncio.to_thread(part.unlink, missing_ok=True)
            await _save(app, row.id, status="too_large", indexbuf="", fetched=0)
            logger.info("archive media msgid=%s: larger than the cap; kept as a reference",
                        row.msgid)  # fmt: skip
            return False
        await asyncio.to_thread(_append, part, fetched, chunk.data)
        fetched += len(chunk.data)
        indexbuf = chunk.indexbuf
        if chunk.is_finish:
            await asyncio.to_thread(part.replace, final)
            await _save(app, row.id, status="fetched", indexbuf="", fetched=fetched,
                        path=str(final), error="")  # fmt: skip
            return True
        await _save(app, row.id, status="fetching", indexbuf=indexbuf, fetched=fetched)


def _append(part: Path, offset: int, data: bytes) -> None:
    """Write data at offset (the bytes recorded as fetched), dropping any unrecorded tail."""
    with part.open("r+b" if part.exists() else "wb") as out:
        out.truncate(offset)
        out.seek(offset)
        out.write(data)
