from __future__ import annotations

import pytest

from knowledge import matcher
from knowledge.demo import load_demo
from knowledge.index import KnowledgeIndex
from knowledge.live import Snapshot
from knowledge.rules import RuleEngine


def test_demo_size() -> None:
    kb = load_demo()
    assert len(kb.entries) >= 40
    assert all(len(e.similar) >= 3 for e in kb.entries)
    assert any(e.attachment is not None and e.attachment.kind == "link" for e in kb.entries)
    assert len(kb.quick_replies) >= 30
    assert sum(1 for r in kb.quick_replies if r.shortcut) >= 3
    assert len(kb.rules) >= 10
    assert {"过敏", "孕妇", "投诉", "退款"} <= {r.name for r in kb.rules}


def test_demo_rules_and_matching() -> None:
    kb = load_demo()
    result = RuleEngine.build(kb.rules).scan("我怀孕了，用了你们的精华有点过敏，要投诉")
    assert result.special_care
    assert result.escalate
    assert result.notify
    assert "过敏体质" in result.tags
    assert any("水杨酸" in c for c in result.cautions)
    assert KnowledgeIndex.build(kb).match("快递到哪里了")[0].entry.id == "order-tracking"


@pytest.fixture(scope="module")
def demo() -> Snapshot:
    """The demo KB, built and calibrated as the server does."""
    return Snapshot.build(load_demo())


def _decide(snapshot: Snapshot, query: str) -> matcher.Decision:
    matches = snapshot.index.match(query, limit=3)
    return matcher.decide(matches, query=query, rules=snapshot.rules,
                          calibration=snapshot.calibration)


@pytest.mark.parametrize(
    ("query", "word", "not_there"),
    [
        ("卡住了", "卡住", ("银行卡",)),
        ("信息怎么改", "信息", ("利息", "修改")),
        ("功能有哪些", "功能", ("可以",)),
    ],
)
def test_words_are_not_rewritten_inside_other_words(
    demo: Snapshot, query: str, word: str, not_there: tuple[str, ...]
) -> None:
    analysis = demo.index.analyse(query)
    assert word in analysis.words
    assert not any(bad in analysis.text for bad in not_there)


@pytest.mark.parametrize("query", ["卡住了", "信息怎么改", "功能有哪些"])
def test_unrelated_questions_are_not_auto_answered(demo: Snapshot, query: str) -> None:
    assert _decide(demo, query).action != "auto"


# Off-topic questions written for this test: not in the built-in off-topic set (which the
# calibration learns from) nor in the demo's test set. The first two are the issue's.
OFFTOPIC = (
    "今天天气怎么样", "你们老板是谁", "帮我查一下明天的天气", "你会不会讲英语", "最近有什么新闻",
    "这首歌叫什么名字", "周末去爬山好不好", "帮我推荐一家火锅店", "你喜欢看足球吗", "我想学做饭",
    "哈哈你真逗", "你们是机器人吗", "家里wifi连不上", "火车票怎么买", "我家狗狗生病了", "你几岁了",
    "明年春节是几号", "怎么考研究生", "给我唱首歌吧", "北京到上海多远", "你觉得人生有意义吗",
)


def test_offtopic_questions_get_no_suggestion(demo: Snapshot) -> None:
    decisions = {q: _decide(demo, q).action for q in OFFTOPIC}
    assert "auto" not in decisions.values()
    assert decisions["今天天气怎么样"] == decisions["你们老板是谁"] == "none"
    # The suggestion floor sits above 90% of the built-in off-topic set, so a few questions
    # that share a whole frame with an entry ("最近有什么新闻" / "最近有活动吗") may still show
    # suggestions to the rep; nearly all get none.
    none = sum(action == "none" for action in decisions.values())
    assert none >= 0.85 * len(OFFTOPIC), decisions


def test_demo_is_calibrated_and_answers_its_own_questions(demo: Snapshot) -> None:
    assert not demo.calibration.default_used
    assert demo.calibration.auto_enabled
    for query in ("怎么查物流", "快递到哪了", "可以开发票吗"):
        assert _decide(demo, query).action == "auto", query
