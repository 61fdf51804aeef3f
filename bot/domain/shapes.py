"""The JSON shapes of a pipeline result that the sidebar reads, live and on reload alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from knowledge.index import Match
from knowledge.model import KeywordRule
from knowledge.rules import RuleHit


def suggestion_json(match: Match) -> dict[str, Any]:
    """A match as the sidebar and the stored message show it."""
    entry = match.entry
    return {
        "entry_id": entry.id,
        "question": entry.question,
        "matched_question": match.matched_question,
        "answer": entry.answer,
        "category": entry.category,
        "confidence": match.confidence,
        "score": match.score,
        "attachment": asdict(entry.attachment) if entry.attachment else None,
    }


def rule_hit_json(hit: RuleHit) -> dict[str, Any]:
    """A rule hit as the sidebar shows it."""
    rule = hit.rule
    return {
        "rule_id": rule.id,
        "name": rule.name,
        "phrase": hit.phrase,
        "tags": list(rule.tags),
        "caution": rule.caution,
        "special_care": rule.special_care,
        "notify": rule.notify,
        "escalate": rule.escalate,
    }


def stored_hits_json(
    stored: Sequence[Mapping[str, Any]], rules: Sequence[KeywordRule]
) -> list[dict[str, Any]]:
    """A stored message's rule hits in the shape of the live event (`rule_hit_json`), with the
    rules in force now, so a reload shows what the live view showed (a rule since deleted
    keeps its stored name and nothing else)."""
    by_id = {r.id: r for r in rules}
    out = []
    for hit in stored:
        rule = by_id.get(str(hit.get("rule_id")))
        if rule is not None:
            out.append(rule_hit_json(RuleHit(rule, str(hit.get("phrase") or ""), (0, 0))))
            continue
        out.append({
            "rule_id": str(hit.get("rule_id") or ""), "name": str(hit.get("name") or ""),
            "phrase": str(hit.get("phrase") or ""), "tags": [], "caution": "",
            "special_care": False, "notify": False, "escalate": False,
        })  # fmt: skip
    return out
