"""Grouped cross-validation and the online (feedback) evaluation."""

from __future__ import annotations

import pytest

from knowledge import crossval, evaluation, matcher
from knowledge.evaluation import LabelledQuery
from knowledge.live import Snapshot
from knowledge.model import KnowledgeBase
from tests.knowledge.gym import GYM_KB

QUERIES = [
    LabelledQuery("年卡一年要多少钱", "card-price"),
    LabelledQuery("年卡是什么价", "card-price"),
    LabelledQuery("卡能停一个月吗", "card-freeze"),
    LabelledQuery("出国了能停卡吗", "card-freeze"),
    LabelledQuery("早上六点开门吗", "open-hours"),
    LabelledQuery("晚上十点还开吗", "open-hours"),
    LabelledQuery("私教一节多少钱", "coach-price"),
    LabelledQuery("请私人教练贵吗", "coach-price"),
    LabelledQuery("能在哪停车", "parking"),
    LabelledQuery("停车要收费吗", "parking"),
    LabelledQuery("今天天气怎么样", ""),
    LabelledQuery("你们老板是谁", ""),
    LabelledQuery("我想学游泳", ""),
    LabelledQuery("附近有好吃的吗", ""),
]


def test_folds_keep_intents_whole_and_are_deterministic() -> None:
    folds = crossval.assign_folds(QUERIES, 3)
    assert folds == crossval.assign_folds(QUERIES, 3)
    by_intent: dict[str, set[int]] = {}
    for q, fold in zip(QUERIES, folds, strict=True):
        if q.expected_id:
            by_intent.setdefault(q.expected_id, set()).add(fold)
    assert all(len(f) == 1 for f in by_intent.values())
    assert set(folds) == {0, 1, 2}
    assert folds != crossval.assign_folds(QUERIES, 3, seed=1) or len(set(folds)) == 3


def test_training_queries_become_similar_questions() -> None:
    kb = crossval.with_similar(GYM_KB, QUERIES[:2] + QUERIES[-2:])
    entry = kb.entry("card-price")
    assert entry is not None
    assert entry.similar[-2:] == ("年卡一年要多少钱", "年卡是什么价")
    assert kb.entry("parking") == GYM_KB.entry("parking")


def test_cross_validate_reports_folds_mean_and_spread() -> None:
    report = crossval.cross_validate(GYM_KB, QUERIES, 3, feedback=True)
    assert report["k"] == 3
    assert [f["fold"] for f in report["folds"]] == [0, 1, 2]
    assert sum(f["n_queries"] for f in report["folds"]) == len(QUERIES)
    values = [f["p_at_1"] for f in report["folds"]]
    assert report["p_at_1"] == pytest.approx(sum(values) / 3, abs=1e-4)
    assert report["spread"]["p_at_1"]["min"] == min(values)
    assert {"online_p_at_1", "online_auto_precision", "p_at_1_standard_only"} <= set(report)
    assert {"new_entry_p_at_1", "new_entry_auto_coverage", "accepted_picks"} <= set(report)
    assert report == crossval.cross_validate(GYM_KB, QUERIES, 3, feedback=True)


def test_online_learns_from_confirmed_suggestions(kb: KnowledgeBase) -> None:
    # The same new phrasing asked twice: only suggested the first time, the rep confirms it,
    # and the second time it is answered.
    queries = [LabelledQuery("我的快递到哪了", "track")] * 2
    snapshot = Snapshot.build(kb)
    first = snapshot.index.match(queries[0].query)
    assert matcher.decide(first, calibration=snapshot.calibration).action == "suggest"
    report = evaluation.online(kb, queries, snapshot=snapshot, review_every=1)
    assert report["online_p_at_1"] == 1.0
    assert report["online_suggested_right_rate"] == 0.5
    assert report["online_auto_coverage"] == 0.5
    assert report["online_auto_precision"] == 1.0


def test_halves_split_each_intent_and_cover_every_query() -> None:
    first, second = crossval.split_halves(QUERIES)
    assert sorted(first + second, key=QUERIES.index) == QUERIES
    for intent in {q.expected_id for q in QUERIES}:
        sizes = [sum(q.expected_id == intent for q in half) for half in (first, second)]
        assert abs(sizes[0] - sizes[1]) <= 1
    assert (first, second) == crossval.split_halves(QUERIES)


def test_held_out_intents_are_never_calibrated_on() -> None:
    # The calibration of a fold is the one of the KB with the other folds' written half
    # only: the held-out intents' queries never shape it.
    folds = crossval.assign_folds(QUERIES, 3)
    written = crossval.split_halves(QUERIES)[0]
    train = [q for q, f in zip(QUERIES, folds, strict=True) if f != 0 and q in written]
    expected = Snapshot.build(crossval.with_similar(GYM_KB, train)).calibration
    report = crossval.cross_validate(GYM_KB, QUERIES, 3)
    assert report["folds"][0]["calibration"] == evaluation.describe(expected)


def test_picks_wait_for_review_or_quorum(kb: KnowledgeBase) -> None:
    # A pick is a proposal: until a review (or a second identical pick) it changes nothing.
    snapshot = Snapshot.build(kb)
    twice = [LabelledQuery("我的快递到哪了", "track")] * 2
    waiting = evaluation.online(kb, twice, snapshot=snapshot, review_every=0)
    assert waiting["online_auto_coverage"] == 0.0
    assert waiting["accepted_picks"] == 1  # the quorum of two identical picks
    reviewed = evaluation.online(kb, twice[:1], snapshot=snapshot, review_every=1)
    assert reviewed["accepted_picks"] == 1


def test_calibration_error() -> None:
    assert evaluation.expected_calibration_error([(0.9, True), (0.9, False)]) == 0.4
    assert evaluation.expected_calibration_error([(0.95, True), (0.05, False)]) == 0.05
