"""The live knowledge: an immutable snapshot swapped atomically when the KB changes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from knowledge import calibration, segment
from knowledge.calibration import Calibration
from knowledge.index import KnowledgeIndex
from knowledge.model import KnowledgeBase
from knowledge.rules import RuleEngine

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A knowledge base with its index, rule engine and calibration, all from the same data.

    The index's confidences come from the calibration's model; pass `calibration` to
    `matcher.decide` so its thresholds are this KB's own.
    """

    kb: KnowledgeBase
    index: KnowledgeIndex
    rules: RuleEngine
    version: int
    calibration: Calibration = field(default_factory=calibration.default_calibration)

    @classmethod
    def build(cls, kb: KnowledgeBase, version: int = 0, misses: Sequence[str] = ()) -> Snapshot:
        """Build index and rules and calibrate (blocking: seconds for large KBs)."""
        index = KnowledgeIndex.build(kb)
        calibrated = calibration.calibrate(kb, misses, index=index)
        return cls(
            kb,
            index.with_model(calibrated.model),
            RuleEngine.build(kb.rules),
            version,
            calibrated,
        )


class LiveKnowledge:
    """Holds the current snapshot; readers take `snapshot` and keep using that object."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self._snapshot = snapshot or Snapshot.build(KnowledgeBase())
        # Recorded unanswered questions: negatives for every recalibration.
        self._misses: tuple[str, ...] = ()
        # Serialises reloads so an older build never replaces a newer one.
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot; a single attribute read, so never half-built."""
        return self._snapshot

    async def initialize(self) -> None:
        """Warm up jieba off the event loop (its first cut takes about a second)."""
        await asyncio.to_thread(segment.default_segmenter().initialize)

    async def load(self, kb: KnowledgeBase, misses: Sequence[str] | None = None) -> Snapshot:
        """Build and calibrate a snapshot for `kb` in a worker thread, then swap it in.

        `misses` (recorded unanswered questions) replace the ones kept from the last call.
        """
        async with self._lock:
            started = time.perf_counter()
            if misses is not None:
                self._misses = tuple(misses)
            version = self._snapshot.version + 1
            snapshot = await asyncio.to_thread(Snapshot.build, kb, version, self._misses)
            self._snapshot = snapshot
            logger.info(
                "knowledge v%d live: %d entries, %d rules, auto-reply at %.2f%s, built in %.0f ms",
                version,
                len(kb.entries),
                len(kb.rules),
                snapshot.calibration.auto_threshold,
                " (default)" if snapshot.calibration.default_used else "",
                (time.perf_counter() - started) * 1000,
            )
            return snapshot

    async def add_similar(self, entry_id: str, question: str) -> Snapshot:
        """Swap in a snapshot where the entry has one more similar question.

        The calibration is redone once the similar questions have grown enough since the
        last one (`Calibration.due`), in the same worker thread.
        """
        async with self._lock:
            current = self._snapshot
            kb = current.kb.with_similar(entry_id, question)
            index, calibrated = await asyncio.to_thread(
                _grow, current, kb, entry_id, question, self._misses
            )
            self._snapshot = Snapshot(kb, index, current.rules, current.version + 1, calibrated)
            return self._snapshot

    async def recalibrate(self, misses: Sequence[str] | None = None) -> Snapshot:
        """Redo the calibration of the current KB (e.g. after new misses were recorded)."""
        async with self._lock:
            if misses is not None:
                self._misses = tuple(misses)
            current = self._snapshot
            calibrated = await asyncio.to_thread(
                calibration.calibrate, current.kb, self._misses, index=current.index
            )
            index = current.index.with_model(calibrated.model)
            self._snapshot = Snapshot(
                current.kb, index, current.rules, current.version + 1, calibrated
            )
            return self._snapshot


def _grow(
    current: Snapshot, kb: KnowledgeBase, entry_id: str, question: str, misses: Sequence[str]
) -> tuple[KnowledgeIndex, Calibration]:
    """The grown index, recalibrated when due (blocking)."""
    index = current.index.add_similar(entry_id, question)
    if not current.calibration.due(calibration.count_similar(kb)):
        return index, current.calibration
    calibrated = calibration.calibrate(kb, misses, index=index)
    return index.with_model(calibrated.model), calibrated
