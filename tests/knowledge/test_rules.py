from __future__ import annotations

import pytest

from knowledge.model import KeywordRule, KnowledgeBase
from knowledge.rules import RuleEngine


@pytest.fixture
def engine(kb: KnowledgeBase) -> RuleEngine:
    return RuleEngine.build(kb.rules)


@pytest.mark.parametrize(
    "text",
    [
        "过敏了",
        "我有点过敏",
        "会不会过敏",
        "喝了以后是不是过敏？",
        "有没有人过敏",
        "我過敏了",
        "我不饿，过敏了",
    ],
)
def test_allergy_fires(engine: RuleEngine, text: str) -> None:
    assert [h.rule.id for h in engine.scan(text).hits] == ["allergy"]


@pytest.mark.parametrize(
    "text", ["不过敏", "我没有过敏", "不是过敏", "应该不会过敏", "从来没有过敏", "并没有过敏"]
)
def test_negated_allergy_does_not_fire(engine: RuleEngine, text: str) -> None:
    assert not engine.scan(text)


def test_span_indexes_original_text(engine: RuleEngine) -> None:
    text = "ＯＫ，我过敏了"
    hit = engine.scan(text).hits[0]
    assert text[hit.span[0] : hit.span[1]] == "过敏" == hit.phrase


def test_overlap_resolved_by_priority(engine: RuleEngine) -> None:
    # "投诉退款" (priority 10) overlaps "投诉" (100) and "退款" (30): the higher ones win.
    result = engine.scan("我要投诉退款")
    assert {h.rule.id for h in result.hits} == {"complaint", "refund"}
    low_first = RuleEngine.build(
        [
            KeywordRule(id="a", name="a", phrases=("投诉退款",), tags=("a",), priority=200),
            KeywordRule(id="b", name="b", phrases=("投诉",), tags=("b",), priority=1),
        ]
    )
    assert [h.rule.id for h in low_first.scan("我要投诉退款").hits] == ["a"]


def test_actions_are_merged(engine: RuleEngine) -> None:
    result = engine.scan("喝完过敏了，我要退款，不然给差评")
    assert result.tags == ("投诉", "过敏体质", "退款")  # priority order
    assert result.special_care
    assert result.notify
    assert result.escalate
    assert result.cautions == ("提醒客户先少量试饮。",)


def test_one_hit_per_rule(engine: RuleEngine) -> None:
    assert len(engine.scan("退款退款，退钱").hits) == 1


def test_no_rules() -> None:
    assert not RuleEngine.build([]).scan("过敏")
