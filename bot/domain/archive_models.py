"""Tables of the chat-archive (会话存档) puller: its cursor and lease, and media references."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow


class ArchiveCursor(Base):
    """One row per archive (corp): the last seq stored, who holds the puller lease, and the
    last outcome for /healthz.

    The cursor and the lease share a row so that advancing the seq is fenced by holding the
    lease: a puller that lost it (paused past expiry) cannot move the cursor back or forth.
    """

    __tablename__ = "archive_cursor"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    holder: Mapped[str] = mapped_column(String(64), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The last SDK error (code and our one-line explanation); cleared by the next good pull.
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(255), default="")
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Records skipped for good (unknown key version, undecryptable), for the operator.
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArchiveMedia(Base):
    """An image, voice note, video or file seen in the archive: a reference (sdkfileid), and
    where it was fetched to when media fetching is on."""

    __tablename__ = "archive_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    msgid: Mapped[str] = mapped_column(String(128), unique=True)
    msgtype: Mapped[str] = mapped_column(String(16))
    sdkfileid: Mapped[str] = mapped_column(Text)
    md5sum: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    external_userid: Mapped[str] = mapped_column(String(64), default="", index=True)
    userid: Mapped[str] = mapped_column(String(64), default="")
    # ref (not fetched) | fetching | fetched | too_large | failed
    status: Mapped[str] = mapped_column(String(16), default="ref", index=True)
    # GetMediaData's resume point and how much of the file is on disk.
    indexbuf: Mapped[str] = mapped_column(Text, default="")
    fetched: Mapped[int] = mapped_column(BigInteger, default=0)
    path: Mapped[str] = mapped_column(String(512), default="")
    error: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
