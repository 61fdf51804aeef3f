"""Closing knowledge gaps from the console: an unanswered-question cluster becomes a new FAQ
entry, or similar questions of an existing one. Audited; the caller applies the returned
change to every worker's snapshot after commit (bot.domain.kb.apply_change)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain import audit
from bot.domain.proposals import NO_CHANGE, Change
from knowledge import misses, store
from knowledge.errors import EntryNotFoundError
from knowledge.misses import KBMiss
from knowledge.store import KBEntry, KBSimilarQuestion

QUESTION_MAX = 200
ANSWER_MAX = 2000
CATEGORY_MAX = 100
MISSES_MAX = 50


async def _open_misses(session: AsyncSession, miss_ids: Sequence[int]) -> list[KBMiss]:
    if not miss_ids or len(miss_ids) > MISSES_MAX:
        raise UsageError("请选择一组未解答的问题")
    rows = list(
        await session.scalars(
            select(KBMiss)
            .where(KBMiss.id.in_(list(miss_ids)), KBMiss.resolved.is_(False))
            .order_by(KBMiss.count.desc(), KBMiss.id)
        )
    )
    if not rows:
        raise NotFoundError("这组问题已经处理过了")
    return rows


async def add_as_similar(
    session: AsyncSession, *, miss_ids: Sequence[int], entry_id: str, by: str
) -> Change:
    """Each question of the cluster becomes a similar question of entry_id; misses resolved."""
    rows = await _open_misses(session, miss_ids)
    added = []
    for row in rows:
        question = " ".join(row.question.split())[:QUESTION_MAX]
        try:
            if await store.add_similar_question(session, entry_id, question):
                added.append(question)
        except EntryNotFoundError:
            raise NotFoundError(f"知识条目 {entry_id} 不存在") from None
    await misses.resolve(session, [r.id for r in rows])
    await audit.record(
        session,
        actor=by,
        action="kb_gap_similar",
        target=entry_id,
        detail={"misses": [r.id for r in rows], "added": added},
    )
    return Change("reload") if added else NO_CHANGE


async def make_entry(
    session: AsyncSession,
    *,
    miss_ids: Sequence[int],
    question: str,
    answer: str,
    category: str,
    by: str,
) -> tuple[str, Change]:
    """A new enabled FAQ entry answering the cluster (its other questions as similar ones)."""
    question = " ".join(question.split())
    answer = answer.strip()
    if not question or len(question) > QUESTION_MAX:
        raise UsageError(f"请填写标准问题（不超过 {QUESTION_MAX} 字）")
    if not answer or len(answer) > ANSWER_MAX:
        raise UsageError(f"请填写答案（不超过 {ANSWER_MAX} 字）")
    category = " ".join(category.split())[:CATEGORY_MAX]
    rows = await _open_misses(session, miss_ids)
    entry_id = f"gap-{secrets.token_hex(4)}"
    position = int(await session.scalar(select(func.max(KBEntry.position))) or 0) + 1
    session.add(
        KBEntry(
            id=entry_id,
            position=position,
            question=question,
            answer=answer,
            keywords=[],
            category=category,
            enabled=True,
        )
    )
    await session.flush()
    seen = {" ".join(question.split())}
    for row in rows:
        similar = " ".join(row.question.split())[:QUESTION_MAX]
        if similar and similar not in seen:
            seen.add(similar)
            session.add(KBSimilarQuestion(entry_id=entry_id, question=similar))
    await misses.resolve(session, [r.id for r in rows])
    await store.note_change(session)
    await audit.record(
        session,
        actor=by,
        action="kb_gap_entry",
        target=entry_id,
        detail={"misses": [r.id for r in rows], "question": question, "category": category},
    )
    return entry_id, Change("reload")
