from __future__ import annotations

from knowledge.demo import load_demo
from knowledge.index import KnowledgeIndex
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
