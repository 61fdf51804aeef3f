"""A confident match that negates what the customer said is never auto-replied."""

from __future__ import annotations

import pytest

from knowledge import matcher
from knowledge.index import KnowledgeIndex
from knowledge.model import FaqEntry, KeywordRule, KnowledgeBase, Synonyms
from knowledge.rules import RuleEngine

KB = KnowledgeBase(
    entries=(
        FaqEntry(id="allergy", question="我过敏了怎么办", similar=("用了过敏", "皮肤过敏了"),
                 answer="请立即停用并用清水冲洗。"),
        FaqEntry(id="ship", question="什么时候发货", answer="48 小时内发货。"),
    ),
    quick_replies=(),
    rules=(KeywordRule(id="r1", name="过敏", phrases=("过敏",), tags=("过敏体质",),
                       special_care=True, caution="", notify=True, escalate=False, priority=1),),
    synonyms=Synonyms({}),
)  # fmt: skip


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(KB)


@pytest.mark.parametrize(
    ("query", "action"),
    [
        ("我过敏了怎么办", "auto"),
        ("我不过敏怎么办", "suggest"),
        ("皮肤没有过敏了", "suggest"),
        ("什么时候发货", "auto"),
    ],
)
def test_negated_rule_phrase_blocks_the_auto_reply(
    index: KnowledgeIndex, query: str, action: str
) -> None:
    engine = RuleEngine.build(KB.rules)
    matches = index.match(query, limit=3)
    assert matches
    assert matcher.decide(matches, query=query, rules=engine).action == action


def test_without_the_query_the_decision_is_the_scores_alone(index: KnowledgeIndex) -> None:
    matches = index.match("我不过敏怎么办", limit=3)
    assert matches[0].entry.id == "allergy"
    # At a threshold the scores clear, only the rule guard stops the auto-reply.
    at = matches[0].confidence
    plain = matcher.decide(matches, auto_threshold=at).action
    guarded = matcher.decide(
        matches, query="我不过敏怎么办", rules=RuleEngine.build(KB.rules), auto_threshold=at
    )
    assert (plain, guarded.action) == ("auto", "suggest")


def test_noise_under_the_floor_is_never_shown(index: KnowledgeIndex) -> None:
    matches = index.match("我过敏了怎么办", limit=3)
    assert any(m.confidence < matcher.SHOWN_FLOOR for m in matches)  # "什么时候发货" trails
    decision = matcher.decide(matches)
    assert [m.entry.id for m in decision.matches] == ["allergy"]
