"""Free-text notes about a customer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError
from bot.domain.models import Note

# Long enough for a call summary, short enough to read in the sidebar.
TEXT_MAX = 2000


async def add_note(session: AsyncSession, *, external_userid: str, userid: str, text: str) -> Note:
    """Add a note by userid about a customer."""
    text = text.strip()
    if not text:
        raise UsageError("备注内容不能为空")
    if len(text) > TEXT_MAX:
        raise UsageError(f"备注最多 {TEXT_MAX} 字")
    note = Note(external_userid=external_userid, userid=userid, text=text)
    session.add(note)
    await session.flush()
    return note


async def notes_of(session: AsyncSession, external_userid: str, limit: int = 20) -> list[Note]:
    """A customer's latest notes, newest first."""
    rows = await session.scalars(
        select(Note)
        .where(Note.external_userid == external_userid)
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(limit)
    )
    return list(rows)
