"""Why the knowledge engine answers as it does: the console's "test a question" and rule test.

Read-only, over one snapshot: the same matcher call the message pipeline makes
(bot.domain.pipeline), with every number behind the decision.
"""

from __future__ import annotations

from typing import Any

from bot.domain.pipeline import SUGGESTIONS
from knowledge import matcher
from knowledge.live import Snapshot
from knowledge.rules import RuleEngine

CANDIDATES = 5
ACTION_LABEL = {"auto": "自动回复", "suggest": "推荐给客服", "none": "转人工（不推荐）"}
STATUS_LABEL = {"hit": "命中", "negated": "被否定（前面有“不/没”等）",
                "excluded": "被排除词取消", "overridden": "被更高优先级的规则覆盖"}  # fmt: skip


def probe(snapshot: Snapshot, question: str) -> dict[str, Any]:
    """The candidates, the decision and the thresholds for one customer question."""
    explained = snapshot.index.explain(question, limit=CANDIDATES)
    decided = matcher.decide(
        snapshot.index.match(question, limit=SUGGESTIONS), query=question,
        rules=snapshot.rules, calibration=snapshot.calibration,
    )  # fmt: skip
    best = decided.best
    cal = snapshot.calibration
    flipped = best is not None and snapshot.rules.opposite(question, best.matched_question)
    return {
        "question": question,
        "analysis": list(snapshot.index.analyse(question).words),
        "action": decided.action,
        "action_label": ACTION_LABEL[decided.action],
        "would_auto_reply": decided.action == "auto",
        "flipped": bool(flipped),
        "matched": None if best is None else {
            "entry_id": best.entry.id, "question": best.entry.question,
            "matched_question": best.matched_question, "answer": best.entry.answer,
            "confidence": best.confidence,
        },
        "candidates": [
            {"entry_id": m.entry.id, "question": m.entry.question,
             "matched_question": m.matched_question, "score": m.score,
             "confidence": m.confidence, "coverage": round(m.coverage, 3),
             "novelty": round(m.novelty, 3), "chars": c.chars, "words": c.words,
             "fuzzy": c.fuzzy, "shown": m.confidence >= matcher.SHOWN_FLOOR}
            for m, c in explained
        ],
        "auto_threshold": cal.auto_threshold if cal.auto_enabled else None,
        "suggest_threshold": cal.suggest_threshold,
        "shown_floor": matcher.SHOWN_FLOOR,
        "calibration": cal.status,
        "version": snapshot.version,
    }  # fmt: skip


def rule_test(engine: RuleEngine, text: str) -> dict[str, Any]:
    """Each rule phrase found in the text, its span and fate, and the merged actions."""
    result = engine.scan(text)
    return {
        "text": text,
        "phrases": [
            {"rule_id": t.rule.id, "rule": t.rule.name, "phrase": t.phrase,
             "start": t.span[0], "end": t.span[1], "status": t.status,
             "status_label": STATUS_LABEL[t.status],
             "by": list(t.by) if t.by else None}
            for t in engine.trace(text)
        ],
        "actions": {
            "tags": list(result.tags), "special_care": result.special_care,
            "cautions": list(result.cautions), "notify": result.notify,
            "escalate": result.escalate,
        },
        "rules": [h.rule.name for h in result.hits],
    }  # fmt: skip
