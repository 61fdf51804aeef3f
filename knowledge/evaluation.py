"""Evaluation of the matcher on labelled queries: offline figures, and online with feedback."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge import calibration, matcher
from knowledge import text as textmod
from knowledge.calibration import Calibration
from knowledge.index import KnowledgeIndex, Match
from knowledge.live import Snapshot
from knowledge.matcher import Decision
from knowledge.model import KnowledgeBase

# The online stream runs in an order shuffled with this seed (deterministic).
STREAM_SEED = 7
# Reps' picks are proposals (bot.domain.proposals): they join the KB when a supervisor accepts
# them, here once every REVIEW_EVERY questions of the stream, or at once when QUORUM picks
# name the same entry for the same wording (each question is taken as answered by another rep).
REVIEW_EVERY = 20
QUORUM = 2
# Confidence bins of the calibration error (ECE): 0-10%, 10-20%, ... 90-100%.
ECE_BINS = 10


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


@dataclass
class _Tally:
    """Counts behind the figures of one run."""

    in_scope: int = 0
    out_of_scope: int = 0
    hits1: int = 0
    hits3: int = 0
    auto_right: int = 0
    auto_wrong: int = 0
    oos_auto: int = 0
    oos_none: int = 0
    in_none: int = 0
    shown_right: int = 0
    # (top confidence, top is right) of every query: is "匹配 xx%" a probability?
    confidences: list[tuple[float, bool]] = field(default_factory=list)

    def add(self, query: LabelledQuery, matches: Sequence[Match], decision: Decision) -> None:
        """Count one decided query."""
        ids = [m.entry.id for m in matches]
        shown = [m.entry.id for m in decision.matches]
        action = decision.action
        auto = action == "auto"
        top = matches[0].confidence if matches else 0.0
        self.confidences.append((top, bool(query.expected_id) and ids[:1] == [query.expected_id]))
        if query.expected_id:
            self.in_scope += 1
            self.in_none += action == "none"
            self.shown_right += action == "suggest" and query.expected_id in shown
            self.hits1 += ids[:1] == [query.expected_id]
            self.hits3 += query.expected_id in ids
            self.auto_right += auto and ids[:1] == [query.expected_id]
            self.auto_wrong += auto and ids[:1] != [query.expected_id]
        else:
            self.out_of_scope += 1
            self.oos_auto += auto
            self.oos_none += action == "none"

    def figures(self, prefix: str = "") -> dict[str, float | int | None]:
        """The figures; auto-reply precision is None when nothing was auto-answered."""
        answered = self.auto_right + self.auto_wrong + self.oos_auto
        return {
            f"{prefix}p_at_1": _ratio(self.hits1, self.in_scope),
            f"{prefix}r_at_3": _ratio(self.hits3, self.in_scope),
            f"{prefix}auto_precision": _ratio(self.auto_right, answered) if answered else None,
            f"{prefix}auto_coverage": _ratio(self.auto_right, self.in_scope),
            f"{prefix}auto_wrong_rate": _ratio(self.auto_wrong, self.in_scope),
            f"{prefix}oos_auto_rate": _ratio(self.oos_auto, self.out_of_scope),
            f"{prefix}oos_none_rate": _ratio(self.oos_none, self.out_of_scope),
            f"{prefix}in_scope_none_rate": _ratio(self.in_none, self.in_scope),
            f"{prefix}suggested_right_rate": _ratio(self.shown_right, self.in_scope),
            f"{prefix}calibration_error": expected_calibration_error(self.confidences),
            f"{prefix}n_auto": answered,
            f"{prefix}n_auto_right": self.auto_right,
        }


def expected_calibration_error(pairs: Sequence[tuple[float, bool]]) -> float:
    """Mean |confidence - accuracy| over confidence bins, weighted by the bins' sizes."""
    bins: dict[int, list[tuple[float, bool]]] = {}
    for conf, right in pairs:
        bins.setdefault(min(ECE_BINS - 1, int(conf * ECE_BINS)), []).append((conf, right))
    gap = sum(
        abs(sum(c for c, _ in members) - sum(r for _, r in members)) for members in bins.values()
    )
    return round(gap / len(pairs), 4) if pairs else 0.0


def describe(cal: Calibration) -> dict[str, Any]:
    """The calibration as reported by eval."""
    return {
        "auto_reply": cal.auto_threshold, "suggest": cal.suggest_threshold,
        "default_used": cal.default_used, "n_positives": cal.n_positives,
        "n_negatives": cal.n_negatives, "expected_precision": cal.expected_precision,
        "status": cal.status,
    }


def evaluate(
    index: KnowledgeIndex,
    queries: Sequence[LabelledQuery],
    *,
    calibration: Calibration | None = None,
    on_query: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Offline figures: P@1, R@3, auto-reply precision and coverage, out-of-scope handling.

    Pass the index of a calibrated snapshot and its calibration: the decisions use its
    thresholds (without one, the uncalibrated defaults).
    """
    return evaluate_parts([(index, queries)], calibration=calibration, on_query=on_query)


def evaluate_parts(
    parts: Sequence[tuple[KnowledgeIndex, Sequence[LabelledQuery]]],
    *,
    calibration: Calibration | None = None,
    on_query: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The figures of several (index, queries) runs counted together, one calibration."""
    tally = _Tally()
    for index, queries in parts:
        for q in queries:
            matches = index.match(q.query, limit=3)
            tally.add(q, matches, matcher.decide(matches, calibration=calibration))
            if on_query is not None:
                on_query()
    used = calibration or matcher_defaults()
    return {
        "n_queries": tally.in_scope + tally.out_of_scope, "n_in_scope": tally.in_scope,
        "n_out_of_scope": tally.out_of_scope, **tally.figures(),
        "thresholds": {"auto_reply": used.auto_threshold, "suggest": used.suggest_threshold},
        "calibration": describe(used),
    }


def matcher_defaults() -> Calibration:
    """The calibration matcher.decide falls back to when given none."""
    return calibration.default_calibration()


def online(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    *,
    snapshot: Snapshot | None = None,
    seed: int = STREAM_SEED,
    review_every: int = REVIEW_EVERY,
) -> dict[str, Any]:
    """Online figures over the queries as one stream, the KB learning as it goes.

    Each query is decided with the current snapshot. When suggestions were shown and the
    right answer is among them, the rep picks it: a proposal, which changes nothing until
    it is accepted (by the review every `review_every` queries, or by QUORUM identical
    picks); then the query is a similar question. A query handed over without a pick is
    recorded as a miss. The calibration is redone whenever `Calibration.due` says so, with
    the misses recorded so far, as LiveKnowledge does.
    """
    start = snapshot or Snapshot.build(kb)
    return online_parts([(start, queries)], seed=seed, review_every=review_every)


def online_parts(
    parts: Sequence[tuple[Snapshot, Sequence[LabelledQuery]]],
    *,
    seed: int = STREAM_SEED,
    review_every: int = REVIEW_EVERY,
) -> dict[str, Any]:
    """The online figures of several streams (each from its own snapshot) counted together."""
    tally = _Tally()
    runs = [_Stream(snapshot, tally, review_every) for snapshot, _ in parts]
    for run, (_, queries) in zip(runs, parts, strict=True):
        stream = list(queries)
        random.Random(seed).shuffle(stream)
        for q in stream:
            run.ask(q)
    return {
        **tally.figures("online_"), "recalibrations": sum(r.recalibrations for r in runs),
        "accepted_picks": sum(r.accepted for r in runs),
        "final_calibration": describe(runs[-1].cal),
    }


class _Stream:
    """One KB answering a stream of questions and learning from reps' accepted picks."""

    def __init__(self, snapshot: Snapshot, tally: _Tally, review_every: int) -> None:
        self.index, self.cal, self.kb = snapshot.index, snapshot.calibration, snapshot.kb
        self.tally, self.review_every = tally, review_every
        self.misses: list[str] = []
        self.pending: dict[tuple[str, str], list[str]] = {}  # (entry, wording key) -> wordings
        self.asked = self.recalibrations = self.accepted = 0

    def ask(self, q: LabelledQuery) -> None:
        """Decide one question, count it, and record the rep's pick or the miss."""
        matches = self.index.match(q.query, limit=3)
        decision = matcher.decide(matches, calibration=self.cal)
        self.tally.add(q, matches, decision)
        shown = [m.entry.id for m in decision.matches]
        if decision.action == "suggest" and q.expected_id and q.expected_id in shown:
            key = (q.expected_id, textmod.normalize(q.query))
            self.pending.setdefault(key, []).append(q.query)
            if len(self.pending[key]) >= QUORUM:
                self._accept(q.expected_id, self.pending.pop(key)[0])
        elif decision.action != "auto":
            self.misses.append(q.query)
        self.asked += 1
        if self.review_every and self.asked % self.review_every == 0:
            for (entry_id, _), wordings in list(self.pending.items()):
                self._accept(entry_id, wordings[0])
            self.pending.clear()

    def _accept(self, entry_id: str, question: str) -> None:
        self.index = self.index.add_similar(entry_id, question)
        self.kb = self.kb.with_similar(entry_id, question)
        self.accepted += 1
        if self.cal.due(calibration.count_similar(self.kb)):
            self.cal = calibration.calibrate(self.kb, self.misses, index=self.index)
            self.index = self.index.with_model(self.cal.model)
            self.recalibrations += 1


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0
