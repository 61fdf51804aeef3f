"""Per-KB self-calibration: thresholds from the KB's own data, defaults when it has too little."""

from __future__ import annotations

import csv
import math
from dataclasses import replace

import pytest

from knowledge import calibration, confidence, matcher
from knowledge.calibration import Calibration
from knowledge.demo import DEMO_EVAL_PATH, load_demo
from knowledge.live import Snapshot
from knowledge.model import FaqEntry, KnowledgeBase
from knowledge.precision import RunningPrecision
from tests.knowledge.gym import GYM_KB


@pytest.fixture(scope="module")
def gym() -> Calibration:
    return calibration.calibrate(GYM_KB)


def test_a_second_domain_gets_its_own_threshold(gym: Calibration) -> None:
    demo = calibration.calibrate(load_demo())
    assert not gym.default_used
    assert gym.auto_enabled
    assert gym.auto_threshold != demo.auto_threshold
    assert gym.auto_threshold != calibration.DEFAULT_AUTO_THRESHOLD
    assert gym.expected_precision is not None
    assert gym.expected_precision >= calibration.TARGET_PRECISION
    # Each auto-reply's own calibrated chance is at least the promise, not only the average.
    assert gym.auto_threshold >= calibration.TARGET_PRECISION
    assert 0 < gym.suggest_threshold < gym.auto_threshold
    assert gym.status.startswith("已按本知识库校准")


def test_a_kb_with_few_similar_questions_gets_the_conservative_default(kb: KnowledgeBase) -> None:
    cal = calibration.calibrate(kb)
    assert cal.default_used
    assert cal.auto_threshold == calibration.DEFAULT_AUTO_THRESHOLD
    assert cal.model == confidence.DEFAULT_MODEL
    assert cal.n_positives < calibration.MIN_POSITIVES
    assert "相似问题太少" in cal.status
    # The off-topic set still places the suggestion floor of this KB.
    assert 0 < cal.suggest_threshold < cal.auto_threshold


def test_misses_are_negatives_unless_the_kb_now_holds_them(gym: Calibration) -> None:
    misses = ["我想学游泳", "附近有什么好吃的", "年卡多少钱", "我想学游泳"]
    with_misses = calibration.calibrate(GYM_KB, misses)
    # "年卡多少钱" is a question of the KB (answered since): not a miss; duplicates count once.
    assert with_misses.n_negatives == gym.n_negatives + 2


def test_calibration_is_deterministic(gym: Calibration) -> None:
    assert calibration.calibrate(GYM_KB) == gym


def test_recalibration_cadence(gym: Calibration) -> None:
    grown = max(calibration.RECALIBRATE_MIN_NEW,
                math.ceil(calibration.RECALIBRATE_GROWTH * gym.n_similar))
    assert not gym.due(gym.n_similar)
    assert not gym.due(gym.n_similar + grown - 1)
    assert gym.due(gym.n_similar + grown)


def test_never_threshold_disables_auto_replies() -> None:
    cal = Calibration(calibration.NEVER, 0.2, confidence.DEFAULT_MODEL, 100, 100, False)
    assert not cal.auto_enabled
    assert "暂只给客服建议" in cal.status


def test_offtopic_set_is_generic_and_not_the_demo_test_set() -> None:
    questions = calibration.offtopic_questions()
    assert len(questions) >= 100
    assert len(set(questions)) == len(questions)
    with DEMO_EVAL_PATH.open(encoding="utf-8") as fh:
        demo_queries = {row["query"] for row in csv.DictReader(fh)}
    assert not demo_queries & set(questions)


def test_bare_entries_weigh_as_the_questions_they_are_expected_to_get() -> None:
    # No similar question anywhere: every entry is bare, every question goes to one.
    assert calibration.bare_share([1, 1, 1, 1]) == 1.0
    # Two bare entries beside two with four wordings each: 2 / (4 entries + 6 similar).
    assert calibration.bare_share([1, 1, 4, 4]) == pytest.approx(0.2)
    # Many bare entries nobody asks weigh less as the asked ones gather wordings.
    assert calibration.bare_share([1] * 50 + [15] * 50) < 0.1
    assert calibration.bare_share([]) == 0.0


def test_a_bare_entry_only_suggests_in_a_calibrated_kb(gym: Calibration) -> None:
    bare = GYM_KB.entries[0]
    new = FaqEntry(id="new-bare", question="泳池几点开放", answer="早上六点")
    kb = replace(GYM_KB, entries=(*GYM_KB.entries, new))
    snapshot = Snapshot.build(kb)
    assert snapshot.calibration.min_similar == calibration.AUTO_MIN_SIMILAR >= 1
    matches = snapshot.index.match("泳池几点开放")
    assert matches[0].entry.id == "new-bare"
    # Even a verbatim question: the bare entry is shown, never sent on its own.
    strict = replace(snapshot.calibration, auto_threshold=0.0)
    assert matcher.decide(matches, calibration=strict).action == "suggest"
    # Its neighbours with similar questions still auto-reply at the same threshold.
    fed = snapshot.index.match(bare.similar[0])
    assert matcher.decide(fed, calibration=strict).action == "auto"
    # An uncalibrated KB (the defaults' conservative 0.95) is not affected.
    assert calibration.default_calibration().can_auto(matches[0])


def test_probes_of_one_entry_count_as_one_cluster() -> None:
    # 40 probes, 4 wrong: one in each of 4 entries (of 40), or all 4 of one entry's (of 10).
    spread = RunningPrecision()
    lumped = RunningPrecision()
    for n in range(40):
        spread.add(1.0, n % 10 != 0, f"e{n}")
        lumped.add(1.0, n >= 4, f"e{n // 4}")
    assert spread.precision == lumped.precision == pytest.approx(0.9)
    assert spread.effective(100) == pytest.approx(40)
    assert lumped.effective(100) == pytest.approx(10)  # as many trials as entries
    # No error yet: no variance to cluster, Kish's size stands.
    clean = RunningPrecision()
    for n in range(30):
        clean.add(1.0, True, f"e{n // 10}")
    assert clean.effective(100) == pytest.approx(30)
