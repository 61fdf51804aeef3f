"""Persistence of the knowledge base (SQLAlchemy 2 async); functions never commit."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from knowledge import text as textmod
from knowledge.errors import EntryNotFoundError
from knowledge.model import (
    Attachment,
    FaqEntry,
    KeywordRule,
    KnowledgeBase,
    QuickReply,
    Synonyms,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class KBBase(DeclarativeBase):
    """Declarative base of the knowledge tables (Alembic includes its metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class KBEntry(KBBase):
    """An FAQ entry."""

    __tablename__ = "kb_entry"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(100), default="")
    enabled: Mapped[bool] = mapped_column(default=True)


class KBSimilarQuestion(KBBase):
    """A similar question of an entry (imported, or confirmed by a rep)."""

    __tablename__ = "kb_similar_question"
    __table_args__ = (UniqueConstraint("entry_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(
        ForeignKey("kb_entry.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)


class KBQuickReply(KBBase):
    """A quick reply (话术)."""

    __tablename__ = "kb_quick_reply"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100), default="")
    scope: Mapped[str] = mapped_column(String(20), default="corp")
    owner: Mapped[str | None] = mapped_column(String(64), default=None)
    shortcut: Mapped[str | None] = mapped_column(String(64), default=None)


class KBRule(KBBase):
    """A keyword rule."""

    __tablename__ = "kb_rule"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(100))
    phrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    special_care: Mapped[bool] = mapped_column(default=False)
    caution: Mapped[str] = mapped_column(Text, default="")
    notify: Mapped[bool] = mapped_column(default=False)
    escalate: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(default=0)


class KBSynonym(KBBase):
    """One variant of a canonical word."""

    __tablename__ = "kb_synonym"
    __table_args__ = (UniqueConstraint("canonical", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    canonical: Mapped[str] = mapped_column(String(100))
    variant: Mapped[str] = mapped_column(String(100))


class KBRevision(KBBase):
    """One row counting changes to the stored KB, so running servers notice an import."""

    __tablename__ = "kb_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)


async def revision(session: AsyncSession) -> int:
    """The stored KB's change counter (0 before the first change)."""
    return int(await session.scalar(select(KBRevision.revision).where(KBRevision.id == 1)) or 0)


async def _bump(session: AsyncSession) -> None:
    row = await session.get(KBRevision, 1)
    if row is None:
        session.add(KBRevision(id=1, revision=1))
    else:
        row.revision += 1
    await session.flush()


async def load_kb(session: AsyncSession) -> KnowledgeBase:
    """The whole knowledge base, in its stored order."""
    similar: dict[str, list[str]] = {}
    for row in await session.scalars(select(KBSimilarQuestion).order_by(KBSimilarQuestion.id)):
        similar.setdefault(row.entry_id, []).append(row.question)
    entries = tuple(
        _entry(row, similar.get(row.id, []))
        for row in await session.scalars(select(KBEntry).order_by(KBEntry.position, KBEntry.id))
    )
    replies = tuple(
        QuickReply(
            id=r.id,
            title=r.title,
            content=r.content,
            category=r.category,
            scope=r.scope,  # type: ignore[arg-type]  # validated on import
            owner=r.owner,
            shortcut=r.shortcut,
        )
        for r in await session.scalars(select(KBQuickReply).order_by(KBQuickReply.position))
    )
    rules = tuple(
        KeywordRule(
            id=r.id,
            name=r.name,
            phrases=tuple(r.phrases),
            tags=tuple(r.tags),
            special_care=r.special_care,
            caution=r.caution,
            notify=r.notify,
            escalate=r.escalate,
            priority=r.priority,
        )
        for r in await session.scalars(select(KBRule).order_by(KBRule.position))
    )
    groups: dict[str, tuple[str, ...]] = {}
    for s in await session.scalars(select(KBSynonym).order_by(KBSynonym.id)):
        groups[s.canonical] = (*groups.get(s.canonical, ()), s.variant)
    return KnowledgeBase(entries, replies, rules, Synonyms(groups))


def _entry(row: KBEntry, similar: list[str]) -> FaqEntry:
    attachment = Attachment(**row.attachment) if row.attachment else None
    return FaqEntry(
        id=row.id,
        question=row.question,
        answer=row.answer,
        similar=tuple(similar),
        attachment=attachment,
        keywords=tuple(row.keywords),
        category=row.category,
        enabled=row.enabled,
    )


async def replace_kb(session: AsyncSession, kb: KnowledgeBase) -> None:
    """Replace every stored knowledge row with the given knowledge base (an import)."""
    for model in (KBSimilarQuestion, KBEntry, KBQuickReply, KBRule, KBSynonym):
        await session.execute(delete(model))
    for pos, entry in enumerate(kb.entries):
        session.add(
            KBEntry(
                id=entry.id,
                position=pos,
                question=entry.question,
                answer=entry.answer,
                attachment=asdict(entry.attachment) if entry.attachment else None,
                keywords=list(entry.keywords),
                category=entry.category,
                enabled=entry.enabled,
            )
        )
    await session.flush()  # entries first: similar questions reference them
    session.add_all(
        KBSimilarQuestion(entry_id=e.id, question=q) for e in kb.entries for q in e.similar
    )
    session.add_all(
        KBQuickReply(position=pos, **asdict(reply)) for pos, reply in enumerate(kb.quick_replies)
    )
    session.add_all(
        KBRule(
            id=r.id,
            position=pos,
            name=r.name,
            phrases=list(r.phrases),
            tags=list(r.tags),
            special_care=r.special_care,
            caution=r.caution,
            notify=r.notify,
            escalate=r.escalate,
            priority=r.priority,
        )
        for pos, r in enumerate(kb.rules)
    )
    session.add_all(
        KBSynonym(canonical=c, variant=v) for c, vs in kb.synonyms.groups.items() for v in vs
    )
    await session.flush()
    await _bump(session)


async def add_similar_question(session: AsyncSession, entry_id: str, question: str) -> bool:
    """Add a rep-confirmed question to an entry; False if it adds nothing new."""
    question = " ".join(question.split())
    entry = await session.get(KBEntry, entry_id)
    if entry is None:
        raise EntryNotFoundError(entry_id)
    existing = [
        entry.question,
        *await session.scalars(
            select(KBSimilarQuestion.question).where(KBSimilarQuestion.entry_id == entry_id)
        ),
    ]
    # Punctuation, width and case variants are the same question to the matcher.
    key = textmod.normalize(question)
    if not key or any(textmod.normalize(q) == key for q in existing):
        return False
    session.add(KBSimilarQuestion(entry_id=entry_id, question=question))
    await session.flush()
    await _bump(session)
    return True


async def count_entries(session: AsyncSession) -> int:
    """Number of stored FAQ entries."""
    return int(await session.scalar(select(func.count()).select_from(KBEntry)) or 0)


async def note_change(session: AsyncSession) -> None:
    """Count a change made with the models directly (a new entry), so every worker reloads."""
    await _bump(session)
