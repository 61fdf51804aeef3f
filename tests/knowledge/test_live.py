from __future__ import annotations

import asyncio
import threading

from knowledge import calibration
from knowledge.live import LiveKnowledge, Snapshot
from knowledge.model import FaqEntry, KnowledgeBase
from tests.knowledge.gym import GYM_KB


def _kb(version: int, size: int = 200) -> KnowledgeBase:
    # Every entry of version v answers "v"; a torn index would mix versions.
    entries = tuple(
        FaqEntry(id=f"v{version}-{i}", question=f"第{version}版问题{i}号", answer=str(version))
        for i in range(size)
    )
    return KnowledgeBase(entries=entries)


async def test_load_swaps_atomically_under_concurrent_queries() -> None:
    live = LiveKnowledge(Snapshot.build(_kb(0)))
    await live.initialize()
    stop = threading.Event()
    torn: list[str] = []
    seen: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            snapshot = live.snapshot
            version = snapshot.version
            seen.add(version)
            for match in snapshot.index.match(f"第{version}版问题7号"):
                if match.entry.answer != str(version):
                    torn.append(match.entry.id)
            if snapshot.kb.entries[0].answer != str(version):
                torn.append("kb")

    readers = [asyncio.create_task(asyncio.to_thread(reader)) for _ in range(2)]
    for version in range(1, 6):
        snapshot = await live.load(_kb(version))
        assert snapshot.version == version
        assert live.snapshot is snapshot
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.gather(*readers)
    assert torn == []
    assert len(seen) > 1  # readers really ran across swaps


async def test_concurrent_loads_keep_the_last() -> None:
    live = LiveKnowledge()
    await asyncio.gather(*(live.load(_kb(v, size=20)) for v in range(1, 4)))
    assert live.snapshot.version == 3
    assert live.snapshot.kb.entries[0].answer == "3"


async def test_add_similar_swaps_in_new_snapshot(kb: KnowledgeBase) -> None:
    live = LiveKnowledge()
    before = await live.load(kb)
    after = await live.add_similar("track", "快递单号发我一下")
    assert after.version == before.version + 1
    assert after.index.match("快递单号发我一下")[0].entry.id == "track"
    entry = after.kb.entry("track")
    assert entry is not None
    assert "快递单号发我一下" in entry.similar
    assert before.kb == kb  # old snapshots are untouched


async def test_snapshot_carries_its_calibration() -> None:
    live = LiveKnowledge()
    snapshot = await live.load(GYM_KB, misses=["我想学游泳", "附近有什么好吃的"])
    calibrated = snapshot.calibration
    assert not calibrated.default_used
    assert snapshot.index.model == calibrated.model  # confidences are this KB's probabilities
    plain = await live.load(GYM_KB)  # the misses are kept for later calibrations
    assert plain.calibration == calibrated


async def test_add_similar_recalibrates_only_when_due() -> None:
    live = LiveKnowledge()
    first = (await live.load(GYM_KB)).calibration
    snapshot = await live.add_similar("parking", "地库停车要钱吗")
    assert snapshot.calibration is first  # one new question: not due yet
    for n in range(calibration.RECALIBRATE_MIN_NEW + 10):
        snapshot = await live.add_similar("parking", f"停车场第{n}层能停吗")
        if snapshot.calibration is not first:
            break
    assert snapshot.calibration is not first
    assert snapshot.calibration.n_similar == calibration.count_similar(snapshot.kb)
    assert snapshot.index.model == snapshot.calibration.model


async def test_recalibrate_with_new_misses() -> None:
    live = LiveKnowledge()
    before = await live.load(GYM_KB)
    after = await live.recalibrate(["我想学游泳"])
    assert after.version == before.version + 1
    assert after.calibration.n_negatives == before.calibration.n_negatives + 1
    assert after.kb is before.kb
