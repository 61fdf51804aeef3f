from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from knowledge import misses, store
from knowledge.errors import EntryNotFoundError
from knowledge.model import KnowledgeBase


@pytest.fixture
async def sessionmaker(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'kb.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(store.KBBase.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def test_round_trip(
    sessionmaker: async_sessionmaker[AsyncSession], kb: KnowledgeBase
) -> None:
    async with sessionmaker.begin() as session:
        await store.replace_kb(session, kb)
    async with sessionmaker() as session:
        loaded = await store.load_kb(session)
        assert await store.count_entries(session) == len(kb.entries)
    assert loaded == kb


async def test_replace_replaces(
    sessionmaker: async_sessionmaker[AsyncSession], kb: KnowledgeBase
) -> None:
    async with sessionmaker.begin() as session:
        await store.replace_kb(session, kb)
        await store.replace_kb(session, KnowledgeBase(entries=kb.entries[:2]))
    async with sessionmaker() as session:
        loaded = await store.load_kb(session)
    assert loaded.entries == kb.entries[:2]
    assert loaded.rules == ()
    assert loaded.quick_replies == ()


async def test_add_similar_question(
    sessionmaker: async_sessionmaker[AsyncSession], kb: KnowledgeBase
) -> None:
    async with sessionmaker.begin() as session:
        await store.replace_kb(session, kb)
        assert await store.add_similar_question(session, "ship", "今天能发货么")
        # Duplicates, including punctuation/width variants and the question itself, add nothing.
        assert not await store.add_similar_question(session, "ship", "今天能发货么？")
        assert not await store.add_similar_question(session, "ship", "下单后多久发货")
        assert not await store.add_similar_question(session, "ship", "什么时候寄出")
        assert not await store.add_similar_question(session, "ship", "  ")
        with pytest.raises(EntryNotFoundError):
            await store.add_similar_question(session, "missing", "随便问问")
    async with sessionmaker() as session:
        entry = (await store.load_kb(session)).entry("ship")
    assert entry is not None
    assert entry.similar == ("什么时候寄出", "几天能发出去", "今天能发货么")


def test_tables_are_prefixed_and_named() -> None:
    tables = store.KBBase.metadata.tables
    assert {
        "kb_entry",
        "kb_similar_question",
        "kb_quick_reply",
        "kb_rule",
        "kb_synonym",
    } <= set(tables)
    assert all(name.startswith("kb_") for name in tables)
    names = {c.name for t in tables.values() for c in t.constraints}
    assert "pk_kb_entry" in names
    assert "uq_kb_similar_question_entry_id" in names


async def test_open_misses_feed_the_calibration(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    start = datetime(2024, 6, 1, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        for n, question in enumerate(["能寄到国外吗", "你们老板是谁", "能寄到国外吗？"]):
            await misses.record(session, question, source="kf", now=start + timedelta(minutes=n))
        done = await misses.record(session, "已经解决的问题", source="kf", now=start)
        assert done is not None
        await misses.resolve(session, [done.id])
    async with sessionmaker() as session:
        questions = await misses.open_questions(session)
        assert questions == ["能寄到国外吗？", "你们老板是谁"]  # newest first, one per key
        assert await misses.open_questions(session, limit=1) == ["能寄到国外吗？"]
