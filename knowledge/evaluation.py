"""Offline evaluation of the matcher on a labelled query set (P@1, R@3, auto-reply)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge import matcher
from knowledge.index import KnowledgeIndex, Match


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    """A query and the id of the entry that answers it ("" = out of scope)."""

    query: str
    expected_id: str


def read_queries(path: Path) -> list[LabelledQuery]:
    """Labelled queries from a CSV with columns query,expected_id."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [
            LabelledQuery(row["query"], (row.get("expected_id") or "").strip())
            for row in csv.DictReader(fh)
        ]


def _ids(matches: Sequence[Match]) -> list[str]:
    return [m.entry.id for m in matches]


def evaluate(
    index: KnowledgeIndex,
    queries: Sequence[LabelledQuery],
    *,
    feedback: bool = False,
    on_query: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The metrics the issue defines; with feedback, also the online P@1 over the stream."""
    in_scope = [q for q in queries if q.expected_id]
    oos = [q for q in queries if not q.expected_id]
    hits1 = hits3 = auto_right = auto_wrong = oos_auto = 0
    for q in queries:
        matches = index.match(q.query, limit=3)
        ids = _ids(matches)
        auto = matcher.decide(matches).action == "auto"
        if q.expected_id:
            hits1 += bool(ids) and ids[0] == q.expected_id
            hits3 += q.expected_id in ids
            auto_right += auto and ids[0] == q.expected_id
            auto_wrong += auto and ids[0] != q.expected_id
        else:
            oos_auto += auto
        if on_query is not None:
            on_query()
    auto_total = auto_right + auto_wrong + oos_auto
    result: dict[str, Any] = {
        "n_queries": len(queries),
        "n_in_scope": len(in_scope),
        "n_out_of_scope": len(oos),
        "p_at_1": _ratio(hits1, len(in_scope)),
        "r_at_3": _ratio(hits3, len(in_scope)),
        "auto_precision": _ratio(auto_right, auto_total),
        "auto_coverage": _ratio(auto_right, len(in_scope)),
        "auto_wrong_rate": _ratio(auto_wrong, len(in_scope)),
        "oos_auto_rate": _ratio(oos_auto, len(oos)),
        "thresholds": {
            "auto_reply": matcher.AUTO_REPLY_THRESHOLD,
            "suggest": matcher.SUGGEST_THRESHOLD,
        },
    }
    if feedback:
        result["online_p_at_1"] = online_p_at_1(index, queries)
    return result


def online_p_at_1(index: KnowledgeIndex, queries: Sequence[LabelledQuery]) -> float:
    """P@1 over the stream, adding each in-scope query a rep would confirm (right in top 3)."""
    in_scope = hits = 0
    for q in queries:
        if not q.expected_id:
            continue
        in_scope += 1
        ids = _ids(index.match(q.query, limit=3))
        hits += bool(ids) and ids[0] == q.expected_id
        if q.expected_id in ids:
            index = index.add_similar(q.expected_id, q.query)
    return _ratio(hits, in_scope)


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0
