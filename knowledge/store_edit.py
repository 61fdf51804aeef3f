"""Row-level edits of the stored knowledge base (the console); functions never commit.

Every change bumps the KB revision, so a worker that misses the reload broadcast still rebuilds
on its revision poll (bot.domain.kb).
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.model import FaqEntry, KeywordRule, QuickReply, Synonyms
from knowledge.store import (
    KBEntry,
    KBQuickReply,
    KBRevision,
    KBRule,
    KBSimilarQuestion,
    KBSynonym,
    _entry,
)


async def bump(session: AsyncSession) -> int:
    """Count one change to the stored KB; the new revision."""
    row = await session.get(KBRevision, 1, with_for_update=True)
    if row is None:
        row = KBRevision(id=1, revision=0)
        session.add(row)
    row.revision += 1
    await session.flush()
    return row.revision


async def _next_position(
    session: AsyncSession, model: type[KBEntry | KBRule | KBQuickReply]
) -> int:
    return int(await session.scalar(select(func.max(model.position))) or 0) + 1


async def get_entry(session: AsyncSession, entry_id: str) -> FaqEntry | None:
    """One stored entry with its similar questions, or None."""
    row = await session.get(KBEntry, entry_id)
    if row is None:
        return None
    similar = await session.scalars(
        select(KBSimilarQuestion.question)
        .where(KBSimilarQuestion.entry_id == entry_id)
        .order_by(KBSimilarQuestion.id)
    )
    return _entry(row, list(similar))


async def save_entry(session: AsyncSession, entry: FaqEntry) -> None:
    """Create or replace an entry, its similar questions included."""
    row = await session.get(KBEntry, entry.id)
    if row is None:
        row = KBEntry(id=entry.id, position=await _next_position(session, KBEntry))
        session.add(row)
    row.question, row.answer, row.category = entry.question, entry.answer, entry.category
    row.attachment = asdict(entry.attachment) if entry.attachment else None
    row.keywords, row.enabled = list(entry.keywords), entry.enabled
    await session.flush()
    await session.execute(delete(KBSimilarQuestion).where(KBSimilarQuestion.entry_id == entry.id))
    session.add_all(KBSimilarQuestion(entry_id=entry.id, question=q) for q in entry.similar)
    await session.flush()
    await bump(session)


async def delete_entry(session: AsyncSession, entry_id: str) -> bool:
    """Delete an entry and its similar questions; False if there was none."""
    await session.execute(delete(KBSimilarQuestion).where(KBSimilarQuestion.entry_id == entry_id))
    result = await session.execute(delete(KBEntry).where(KBEntry.id == entry_id))
    if not getattr(result, "rowcount", 0):
        return False
    await bump(session)
    return True


async def get_rule(session: AsyncSession, rule_id: str) -> KBRule | None:
    """One stored rule row, or None."""
    return await session.get(KBRule, rule_id)


async def save_rule(session: AsyncSession, rule: KeywordRule) -> None:
    """Create or replace a keyword rule."""
    row = await session.get(KBRule, rule.id)
    if row is None:
        row = KBRule(id=rule.id, position=await _next_position(session, KBRule))
        session.add(row)
    row.name, row.phrases, row.tags = rule.name, list(rule.phrases), list(rule.tags)
    row.special_care, row.caution = rule.special_care, rule.caution
    row.notify, row.escalate, row.priority = rule.notify, rule.escalate, rule.priority
    row.negations = list(rule.negations)
    await session.flush()
    await bump(session)


async def delete_rule(session: AsyncSession, rule_id: str) -> bool:
    """Delete a keyword rule; False if there was none."""
    result = await session.execute(delete(KBRule).where(KBRule.id == rule_id))
    if not getattr(result, "rowcount", 0):
        return False
    await bump(session)
    return True


async def get_quick_reply(session: AsyncSession, reply_id: str) -> KBQuickReply | None:
    """One stored quick-reply row, or None."""
    return await session.get(KBQuickReply, reply_id)


async def save_quick_reply(session: AsyncSession, reply: QuickReply) -> None:
    """Create or replace a quick reply."""
    row = await session.get(KBQuickReply, reply.id)
    if row is None:
        row = KBQuickReply(id=reply.id, position=await _next_position(session, KBQuickReply))
        session.add(row)
    row.title, row.content, row.category = reply.title, reply.content, reply.category
    row.scope, row.owner, row.shortcut = reply.scope, reply.owner, reply.shortcut
    await session.flush()
    await bump(session)


async def delete_quick_reply(session: AsyncSession, reply_id: str) -> bool:
    """Delete a quick reply; False if there was none."""
    result = await session.execute(delete(KBQuickReply).where(KBQuickReply.id == reply_id))
    if not getattr(result, "rowcount", 0):
        return False
    await bump(session)
    return True


async def replace_synonyms(session: AsyncSession, synonyms: Synonyms) -> None:
    """Replace the KB's domain synonyms."""
    await session.execute(delete(KBSynonym))
    session.add_all(
        KBSynonym(canonical=c, variant=v) for c, vs in synonyms.groups.items() for v in vs
    )
    await session.flush()
    await bump(session)
