"""Grouped K-fold cross-validation by FAQ intent: nothing is tuned on what it is measured on.

Each intent's queries are split in two halves (seeded). The KB is measured as a customer's
KB would hold it: every entry with its standard question and one half of its intent's
queries as similar questions; the other half are the customer questions asked.

Fold k holds out a set of intents (entry ids). Everything fitted (the confidence model and
the thresholds) comes from the other intents: the KB with their similar questions only is
calibrated by the product's own procedure (knowledge.calibration). The held-out intents'
queries are then asked, each half against that KB plus the other half as their similar
questions, with that calibration. Beside this, the same queries are asked with the
held-out entries bare (`new_entry_*`: an entry just added, no similar question yet) and
against the standard questions alone. The online figures (--feedback) ask the same halves as
one stream each, the KB learning from reps' picks; `new_entry_online_*` asks all held-out
queries as one stream starting from the bare entries.
Out-of-scope queries carry no intent label, so they are dealt to the folds round-robin after
a seeded shuffle and used only as tests (never as misses: a paraphrase of a test question
could land among them).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from knowledge import evaluation
from knowledge.evaluation import LabelledQuery
from knowledge.index import KnowledgeIndex
from knowledge.live import Snapshot
from knowledge.model import KnowledgeBase

SEED = 20240601


def assign_folds(queries: Sequence[LabelledQuery], k: int, seed: int = SEED) -> list[int]:
    """The fold of each query: intents whole, balanced by query count; out-of-scope dealt."""
    rng = random.Random(seed)
    sizes: dict[str, int] = {}
    for q in queries:
        if q.expected_id:
            sizes[q.expected_id] = sizes.get(q.expected_id, 0) + 1
    intents = sorted(sizes)
    rng.shuffle(intents)
    # Largest intents first, each to the fold with the fewest queries so far.
    load = [0] * k
    fold_of: dict[str, int] = {}
    for intent in sorted(intents, key=lambda i: -sizes[i]):
        fold = min(range(k), key=lambda f: (load[f], f))
        fold_of[intent] = fold
        load[fold] += sizes[intent]
    oos = [i for i, q in enumerate(queries) if not q.expected_id]
    rng.shuffle(oos)
    dealt = {index: n % k for n, index in enumerate(oos)}
    return [fold_of[q.expected_id] if q.expected_id else dealt[i] for i, q in enumerate(queries)]


def with_similar(kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> KnowledgeBase:
    """The KB with these in-scope queries added as similar questions of their entries."""
    extra: dict[str, list[str]] = {}
    for q in queries:
        if q.expected_id:
            extra.setdefault(q.expected_id, []).append(q.query)
    entries = tuple(
        replace(e, similar=tuple(dict.fromkeys((*e.similar, *extra.get(e.id, ())))))
        for e in kb.entries
    )
    return replace(kb, entries=entries)


def split_halves(
    queries: Sequence[LabelledQuery], seed: int = SEED
) -> tuple[list[LabelledQuery], list[LabelledQuery]]:
    """Two halves: each intent's queries alternate after a seeded shuffle; out-of-scope too."""
    rng = random.Random(seed)
    groups: dict[str, list[LabelledQuery]] = {}
    for q in queries:
        groups.setdefault(q.expected_id, []).append(q)
    halves: tuple[list[LabelledQuery], list[LabelledQuery]] = ([], [])
    for intent in sorted(groups):
        members = groups[intent]
        rng.shuffle(members)
        for n, q in enumerate(members):
            halves[n % 2].append(q)
    return halves


# Figures also reported for the held-out entries held bare (prefix new_entry_).
NEW_ENTRY_FIGURES = ("p_at_1", "r_at_3", "auto_precision", "auto_coverage", "auto_wrong_rate",
                     "n_auto", "n_auto_right")
NEW_ENTRY_ONLINE = ("online_p_at_1", "online_auto_precision", "online_auto_coverage",
                    "online_n_auto", "online_n_auto_right")


def cross_validate(
    kb: KnowledgeBase,
    queries: Sequence[LabelledQuery],
    k: int = 5,
    *,
    feedback: bool = False,
    seed: int = SEED,
    review_every: int = evaluation.REVIEW_EVERY,
) -> dict[str, Any]:
    """Per-fold figures, their mean and spread (sample standard deviation, min, max)."""
    folds = assign_folds(queries, k, seed)
    halves = split_halves(queries, seed)
    half_of = {id(q): n for n in (0, 1) for q in halves[n]}
    standard = KnowledgeIndex.build(kb)  # the KB as given: standard questions only
    results: list[dict[str, Any]] = []
    for fold in range(k):
        test = [q for q, f in zip(queries, folds, strict=True) if f == fold]
        written = [q for q, f in zip(queries, folds, strict=True)
                   if f != fold and half_of[id(q)] == 0]
        fold_kb = with_similar(kb, written)
        snapshot = Snapshot.build(fold_kb)  # calibrated on the other intents only
        cal = snapshot.calibration
        parts = []
        for n in (0, 1):
            held = with_similar(fold_kb, [q for q in test if half_of[id(q)] == n])
            index = KnowledgeIndex.build(held).with_model(cal.model)
            start = replace(snapshot, kb=held, index=index)  # the calibration stays
            parts.append((start, [q for q in test if half_of[id(q)] != n]))
        result = evaluation.evaluate_parts(
            [(start.index, asked) for start, asked in parts], calibration=cal
        )
        result["fold"] = fold
        bare = evaluation.evaluate(snapshot.index, test, calibration=cal)
        result.update({f"new_entry_{key}": bare[key] for key in NEW_ENTRY_FIGURES})
        result["p_at_1_standard_only"] = _p_at_1(standard, test)
        if feedback:
            result.update(evaluation.online_parts(parts, review_every=review_every))
            new = evaluation.online(fold_kb, test, snapshot=snapshot, review_every=review_every)
            result.update({f"new_entry_{key}": new[key] for key in NEW_ENTRY_ONLINE})
        results.append(result)
    return {**summarise(results), "k": k, "seed": seed, "folds": results}


def _p_at_1(index: KnowledgeIndex, queries: Sequence[LabelledQuery]) -> float:
    """P@1 of the in-scope queries against an index (no decisions involved)."""
    in_scope = [q for q in queries if q.expected_id]
    hits = 0
    for q in in_scope:
        matches = index.match(q.query, limit=1)
        hits += bool(matches) and matches[0].entry.id == q.expected_id
    return round(hits / len(in_scope), 4) if in_scope else 0.0


def summarise(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean of every numeric figure over the folds, its spread, and pooled precisions.

    A fold where nothing was auto-answered has no auto-reply precision: the mean is over
    the folds that have one, and the pooled figure (all folds' auto-replies together) is
    given beside it.
    """
    keys = [k for k, v in results[0].items() if (v is None or _number(v)) and k != "fold"]
    mean: dict[str, float | None] = {}
    spread: dict[str, dict[str, float]] = {}
    for key in keys:
        values = [float(r[key]) for r in results if _number(r.get(key))]
        if not values:
            mean[key] = None
            continue
        centre = sum(values) / len(values)
        var = sum((v - centre) ** 2 for v in values) / max(1, len(values) - 1)
        mean[key] = round(centre, 4)
        spread[key] = {"sd": round(math.sqrt(var), 4), "min": min(values), "max": max(values),
                       "n_folds": len(values)}
    for prefix in ("", "new_entry_", "online_", "new_entry_online_"):
        answered = sum(int(r.get(f"{prefix}n_auto", 0)) for r in results)
        right = sum(int(r.get(f"{prefix}n_auto_right", 0)) for r in results)
        if f"{prefix}n_auto" in results[0]:
            pooled = round(right / answered, 4) if answered else None
            mean[f"{prefix}auto_precision_pooled"] = pooled
    return {**mean, "spread": spread}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
