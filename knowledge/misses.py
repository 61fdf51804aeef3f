"""Unanswered customer questions: counted per normalised text, grouped by similarity to read.

The table lives with the knowledge tables (KBBase), so `python -m knowledge misses` can read it
without the server. Functions take the session first and never commit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rapidfuzz import fuzz, process
from sqlalchemy import DateTime, Float, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped, mapped_column

from knowledge import text as textmod
from knowledge.store import KBBase

# Two questions at or above this rapidfuzz ratio (0-100, on normalised text) are one gap:
# high enough that "怎么退款" and "能开发票吗" stay apart, low enough for rewordings.
GROUP_SIMILARITY = 70
# Grouping reads at most this many of the most recent open misses (it is O(rows x groups)).
GROUP_WINDOW = 2000
QUESTION_MAX = 500


class KBMiss(KBBase):
    """One distinct unanswered question (by normalised text) and how often it was asked."""

    __tablename__ = "kb_miss"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    question: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(16), default="")
    best_entry_id: Mapped[str | None] = mapped_column(String(64), default=None)
    best_confidence: Mapped[float | None] = mapped_column(Float, default=None)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    resolved: Mapped[bool] = mapped_column(default=False)


@dataclass(frozen=True, slots=True)
class MissGroup:
    """Similar unanswered questions: the most asked one stands for the group."""

    question: str
    count: int
    examples: tuple[str, ...]
    miss_ids: tuple[int, ...]
    last_at: datetime


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every value written here is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def miss_key(question: str) -> str:
    """The identity of a question: normalised, whitespace-collapsed, bounded."""
    return " ".join(textmod.normalize(question).split())[:255]


async def record(
    session: AsyncSession,
    question: str,
    *,
    source: str,
    best_entry_id: str | None = None,
    best_confidence: float | None = None,
    now: datetime | None = None,
) -> KBMiss | None:
    """Count one unanswered question; None when it is empty after normalisation."""
    key = miss_key(question)
    if not key:
        return None
    at = now or datetime.now(UTC)
    for _ in range(2):  # a concurrent insert of the same key loses the race once, then updates
        row = await session.scalar(select(KBMiss).where(KBMiss.key == key))
        if row is not None:
            row.count += 1
            row.question = question[:QUESTION_MAX]
            row.last_at, row.resolved, row.source = at, False, source
            row.best_entry_id, row.best_confidence = best_entry_id, best_confidence
            await session.flush()
            return row
        try:
            async with session.begin_nested():
                row = KBMiss(
                    key=key,
                    question=question[:QUESTION_MAX],
                    count=1,
                    source=source,
                    best_entry_id=best_entry_id,
                    best_confidence=best_confidence,
                    first_at=at,
                    last_at=at,
                )
                session.add(row)
            return row
        except IntegrityError:
            continue
    return None


def group(rows: Sequence[KBMiss], threshold: int = GROUP_SIMILARITY) -> list[MissGroup]:
    """Greedy grouping, most asked first; groups ordered by total count."""
    ordered = sorted(rows, key=lambda r: (-r.count, r.id))
    reps: list[str] = []
    members: list[list[KBMiss]] = []
    for row in ordered:
        hit = process.extractOne(row.key, reps, scorer=fuzz.ratio, score_cutoff=threshold)
        if hit is None:
            reps.append(row.key)
            members.append([row])
        else:
            members[hit[2]].append(row)
    groups = [
        MissGroup(
            question=rows_[0].question,
            count=sum(r.count for r in rows_),
            examples=tuple(r.question for r in rows_[1:4]),
            miss_ids=tuple(r.id for r in rows_),
            last_at=max(_aware(r.last_at) for r in rows_),
        )
        for rows_ in members
    ]
    return sorted(groups, key=lambda g: (-g.count, -g.last_at.timestamp()))


async def top_gaps(
    session: AsyncSession, *, limit: int = 10, since: datetime | None = None
) -> list[MissGroup]:
    """The biggest open gaps: similar misses grouped, largest total count first."""
    query = select(KBMiss).where(KBMiss.resolved.is_(False))
    if since is not None:
        # SQLite keeps the UTC wall time without an offset: compare in UTC.
        utc = since.astimezone(UTC) if since.tzinfo else since
        query = query.where(KBMiss.last_at >= utc)
    rows = await session.scalars(query.order_by(KBMiss.last_at.desc()).limit(GROUP_WINDOW))
    return group(list(rows))[:limit]


# The calibration reads at most this many open misses (the most recent ones).
CALIBRATION_WINDOW = 1000


async def open_questions(
    session: AsyncSession, *, limit: int = CALIBRATION_WINDOW
) -> list[str]:
    """The most recent unresolved misses' questions: negatives for the KB's calibration
    (pass them to LiveKnowledge.load(kb, misses=...))."""
    rows = await session.scalars(
        select(KBMiss.question).where(KBMiss.resolved.is_(False))
        .order_by(KBMiss.last_at.desc(), KBMiss.id.desc()).limit(limit)
    )
    return list(rows)


async def resolve(session: AsyncSession, miss_ids: Sequence[int]) -> int:
    """Mark misses as answered (e.g. a KB entry now covers them); returns how many."""
    rows = await session.scalars(select(KBMiss).where(KBMiss.id.in_(list(miss_ids))))
    done = 0
    for row in rows:
        row.resolved = True
        done += 1
    await session.flush()
    return done


def format_report(groups: Sequence[MissGroup]) -> str:
    """Plain-text report (Chinese) for the CLI and the supervisor /misses command."""
    if not groups:
        return "暂无未解答的问题。"
    lines = [f"未解答的问题（共 {len(groups)} 组，按次数排序）："]
    for n, g in enumerate(groups, start=1):
        lines.append(f"{n}. {g.question}  ×{g.count}")
        lines.extend(f"   · {example}" for example in g.examples)
    return "\n".join(lines)


async def report(database_url: str, *, limit: int = 20) -> str:
    """The gaps report read straight from a database (no server needed)."""
    engine = create_async_engine(database_url)
    try:
        async with async_sessionmaker(engine)() as session:
            return format_report(await top_gaps(session, limit=limit))
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m knowledge.misses [--db URL] [--limit N]`: print the biggest gaps."""
    parser = argparse.ArgumentParser(prog="python -m knowledge misses", description=__doc__)
    default = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///data/sidekick.db")
    parser.add_argument("--db", default=default, help="database URL (default: $DATABASE_URL)")
    parser.add_argument("--limit", type=int, default=20, help="how many groups to show")
    args = parser.parse_args(argv)
    try:
        text = asyncio.run(report(args.db, limit=args.limit))
    except (OperationalError, ProgrammingError) as exc:
        sys.stderr.write(
            f"error: cannot read unanswered questions from {args.db}: {exc.orig}\n"
            "(is this the bot's database? `python -m bot db upgrade` creates the tables)\n"
        )
        return 1
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
