"""The live knowledge: an immutable snapshot swapped atomically when the KB changes."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from knowledge import segment
from knowledge.index import KnowledgeIndex
from knowledge.model import KnowledgeBase
from knowledge.rules import RuleEngine

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A knowledge base with its index and rule engine, all built from the same data."""

    kb: KnowledgeBase
    index: KnowledgeIndex
    rules: RuleEngine
    version: int

    @classmethod
    def build(cls, kb: KnowledgeBase, version: int = 0) -> Snapshot:
        """Build index and rules (blocking: seconds for large KBs)."""
        return cls(kb, KnowledgeIndex.build(kb), RuleEngine.build(kb.rules), version)


class LiveKnowledge:
    """Holds the current snapshot; readers take `snapshot` and keep using that object."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self._snapshot = snapshot or Snapshot.build(KnowledgeBase())
        # Serialises reloads so an older build never replaces a newer one.
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot; a single attribute read, so never half-built."""
        return self._snapshot

    async def initialize(self) -> None:
        """Warm up jieba off the event loop (its first cut takes about a second)."""
        await asyncio.to_thread(segment.default_segmenter().initialize)

    async def load(self, kb: KnowledgeBase) -> Snapshot:
        """Build a snapshot for `kb` in a worker thread, then swap it in atomically."""
        async with self._lock:
            started = time.perf_counter()
            version = self._snapshot.version + 1
            snapshot = await asyncio.to_thread(Snapshot.build, kb, version)
            self._snapshot = snapshot
            logger.info(
                "knowledge v%d live: %d entries, %d rules, built in %.0f ms",
                version,
                len(kb.entries),
                len(kb.rules),
                (time.perf_counter() - started) * 1000,
            )
            return snapshot

    async def add_similar(self, entry_id: str, question: str) -> Snapshot:
        """Swap in a snapshot where the entry has one more similar question."""
        async with self._lock:
            current = self._snapshot
            index = await asyncio.to_thread(current.index.add_similar, entry_id, question)
            kb = current.kb.with_similar(entry_id, question)
            self._snapshot = Snapshot(kb, index, current.rules, current.version + 1)
            return self._snapshot
