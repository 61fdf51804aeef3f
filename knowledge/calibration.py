"""Per-KB self-calibration: the confidence model and the auto-reply and suggestion thresholds.

Everything comes from the KB itself:
- positives: its similar questions, each asked again with itself left out ("warm" probes),
  and asked as if its entry held only the standard question ("cold" probes, weighted by the
  estimated share of questions to entries without similar questions, so new entries are not
  over-trusted);
- negatives: the caller's recorded misses and the built-in off-topic questions
  (knowledge/data/offtopic.txt), whose top match is wrong whatever the domain.
A logistic model of six features of the ranking (knowledge.confidence) is fitted on them, so
a confidence is the probability that the top answer is right in this KB. The auto-reply
threshold is the lowest confidence at which the probes' precision is still >=
TARGET_PRECISION with ~90% certainty (Wilson lower bound); the suggestion floor keeps most
off-topic questions out. Too few similar questions:
the default model and conservative default thresholds, and the status says so.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from knowledge import confidence
from knowledge.confidence import ConfidenceModel, Features
from knowledge.index import KnowledgeIndex, Match
from knowledge.model import KnowledgeBase
from knowledge.precision import RunningPrecision, wilson_lower

T = TypeVar("T")

OFFTOPIC_FILE = Path(__file__).parent / "data" / "offtopic.txt"

# What an auto-reply promises: at least 9 answers in 10 right (a reply to a question the KB
# does not cover counts as wrong).
TARGET_PRECISION = 0.90
# One-sided 90% normal quantile: the threshold must hold the target with ~90% certainty by
# the KB's own probes (leave-one-out is already harder than most customer questions).
CERTAINTY_Z = 1.2816
# Fewer warm probes than this (similar questions of entries with 2+ questions): the KB's own
# data cannot support a threshold, and the defaults apply.
MIN_POSITIVES = 30
# Probes per kind and misses used, sampled with a fixed seed: calibration stays well under a
# second even at 100k entries (bench/matcher.py).
MAX_PROBES = 300
MAX_MISSES = 300
SEED = 20240601
# The negatives' share of the fitted weight: we assume about a third of customer questions
# are not answered by the KB (chit-chat, uncovered topics). Not fitted on any data.
NEGATIVE_SHARE = 1 / 3
# The suggestion floor sits at this quantile of the off-topic questions' confidences: at
# least 90% of chit-chat gets no suggestion at all ...
OFFTOPIC_QUANTILE = 0.90
# ... but it never rises above the confidence of this share of the right answers shown in
# the top 3: the rep must still see 9 in 10 of them (and confirm them, which teaches the KB).
MAX_HIDDEN_RIGHT = 0.10
# Defaults for a KB without enough data: the default model; auto-reply only when nearly sure.
DEFAULT_AUTO_THRESHOLD = 0.95
DEFAULT_SUGGEST_THRESHOLD = 0.20  # when not even the off-topic set can place it
# Recalibrate once the similar questions have grown by this share (and by at least
# RECALIBRATE_MIN_NEW) since the last calibration.
RECALIBRATE_GROWTH = 0.10
RECALIBRATE_MIN_NEW = 5
# An auto-reply threshold above 1: no confidence reaches it (auto-replies off).
NEVER = 1.01
# An entry answers automatically only once it holds this many similar questions: one lone
# wording (a new entry) is only suggested until reps' confirmed picks give it support. The
# probes count the same way, so the threshold is chosen over what can actually be sent.
AUTO_MIN_SIMILAR = 1


@dataclass(frozen=True, slots=True)
class Calibration:
    """One KB's confidence model and thresholds, and how much data they rest on."""

    auto_threshold: float
    suggest_threshold: float
    model: ConfidenceModel
    n_positives: int  # probes (warm and cold) behind the fit
    n_negatives: int  # misses and off-topic questions behind it
    default_used: bool
    n_similar: int = 0
    expected_precision: float | None = None
    expected_coverage: float | None = None
    # Similar questions an entry needs before it may auto-reply (0: any entry may). A fitted
    # calibration sets AUTO_MIN_SIMILAR; the defaults' 0.95 is the bare KB's protection.
    min_similar: int = 0

    def can_auto(self, match: Match) -> bool:
        """Whether this match's entry has the support an auto-reply needs."""
        return len(match.entry.similar) >= self.min_similar

    @property
    def auto_enabled(self) -> bool:
        """Whether any confidence can reach the auto-reply threshold."""
        return self.auto_threshold <= 1.0

    @property
    def status(self) -> str:
        """A short Chinese status line for admins (the /kb command, the eval output)."""
        if self.default_used:
            return (f"相似问题太少（可用 {self.n_positives} 条，至少 {MIN_POSITIVES} 条），"
                    f"使用保守的默认阈值：置信度 ≥ {self.auto_threshold:.0%} 才自动回复")
        basis = (f"已按本知识库校准（相似问题留一检验 {self.n_positives} 次，"
                 f"无关问题 {self.n_negatives} 条）")
        if not self.auto_enabled:
            return f"{basis}：自动回复达不到 {TARGET_PRECISION:.0%} 准确率，暂只给客服建议"
        precision = self.expected_precision or 0.0
        bare = "；还没有相似问法的条目只给建议" if self.min_similar else ""
        return (f"{basis}：置信度 ≥ {self.auto_threshold:.0%} 自动回复（预计准确率 "
                f"{precision:.0%}），≥ {self.suggest_threshold:.0%} 给出建议{bare}")

    def due(self, n_similar: int) -> bool:
        """Whether a KB now holding `n_similar` similar questions should be recalibrated."""
        grown = n_similar - self.n_similar
        return grown >= max(RECALIBRATE_MIN_NEW, RECALIBRATE_GROWTH * self.n_similar)


def default_calibration(
    n_positives: int = 0,
    n_similar: int = 0,
    suggest_threshold: float = DEFAULT_SUGGEST_THRESHOLD,
    n_negatives: int = 0,
) -> Calibration:
    """The conservative calibration of a KB with too few similar questions."""
    return Calibration(
        DEFAULT_AUTO_THRESHOLD, min(suggest_threshold, DEFAULT_AUTO_THRESHOLD),
        confidence.DEFAULT_MODEL, n_positives, n_negatives, True, n_similar,
    )


@functools.cache
def offtopic_questions() -> tuple[str, ...]:
    """The built-in off-topic questions (chit-chat no KB answers)."""
    lines = OFFTOPIC_FILE.read_text("utf-8").splitlines()
    return tuple(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))


def count_similar(kb: KnowledgeBase) -> int:
    """Similar questions of the enabled entries (what the calibration grows with)."""
    return sum(len(e.similar) for e in kb.entries if e.enabled)


def features(matches: Sequence[Match]) -> Features:
    """(top score, lead over the 2nd, lead over the 3rd, coverage, novelty, support) of a
    ranking."""
    scores = [m.score for m in matches[:3]] + [0.0, 0.0, 0.0]
    if not matches:
        return (0.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    top = matches[0]
    return (scores[0], scores[0] - scores[1], scores[0] - scores[2], top.coverage, top.novelty,
            top.support)


# A probe: the matches of a held-out question, and the id of the entry it belongs to.
Probe = tuple[list[Match], str]


@dataclass(frozen=True, slots=True)
class _Sample:
    features: Features
    right: bool  # the top match is the right entry
    in_top3: bool  # the right entry is among the 3 shown
    weight: float
    offtopic: bool = False
    eligible: bool = True  # the top entry holds enough similar questions to auto-reply
    group: str = ""  # the right entry of a probe: its probes' errors go together


def calibrate(
    kb: KnowledgeBase,
    misses: Sequence[str] = (),
    *,
    index: KnowledgeIndex | None = None,
    offtopic: Sequence[str] | None = None,
) -> Calibration:
    """Fit the KB's confidence model and choose its thresholds from its own data.

    `misses` are recorded unanswered customer questions (negatives); `index` is the KB's
    index if already built; `offtopic` replaces the built-in off-topic set (tests).
    """
    index = index or KnowledgeIndex.build(kb)
    n_similar = count_similar(kb)
    rng = random.Random(SEED)
    warm, cold, cold_share = _probes(index, rng)
    chat = list(offtopic_questions() if offtopic is None else offtopic)
    if len(warm) < MIN_POSITIVES:
        # No data for a model, but the off-topic set can still place the suggestion floor.
        chat_scores = [
            confidence.DEFAULT_MODEL.probability(*features(index.match(q, limit=3)))
            for q in chat
        ]
        floor = _quantile(sorted(chat_scores)) if chat_scores else DEFAULT_SUGGEST_THRESHOLD
        return default_calibration(len(warm), n_similar, floor, len(chat))
    # A miss that is now one of the KB's questions was answered since (a rep confirmed it).
    asked = [q for q in dict.fromkeys(misses) if not index.contains(q)]
    asked = _sample(asked, MAX_MISSES, rng)
    samples = _weigh(index, warm, cold, cold_share, asked, chat)
    model = confidence.fit([(s.features, s.right, s.weight) for s in samples])
    scored = [(model.probability(*s.features), s) for s in samples]
    auto, precision, coverage = _auto_threshold(scored)
    suggest = _suggest_threshold(scored)
    n_positives = len(warm) + (len(cold) if cold_share > 0 else 0)  # probes with weight
    return Calibration(
        auto, min(suggest, auto), model, n_positives, len(asked) + len(chat), False, n_similar,
        precision, coverage, AUTO_MIN_SIMILAR,
    )


def _probes(
    index: KnowledgeIndex, rng: random.Random
) -> tuple[list[Probe], list[Probe], float]:
    """Warm and cold probes as (matches, right entry id), and the cold probes' share."""
    questions = index.questions()
    per_entry: dict[str, int] = {}
    for entry_id, _, _ in questions:
        per_entry[entry_id] = per_entry.get(entry_id, 0) + 1
    eligible = [d for d, (entry_id, _, _) in enumerate(questions) if per_entry[entry_id] > 1]
    warm_docs = _sample(eligible, MAX_PROBES, rng)
    cold_docs = _sample([d for d in eligible if questions[d][1] > 0], MAX_PROBES, rng)
    warm = [(index.held_out(d), questions[d][0]) for d in warm_docs]
    cold = [(index.held_out(d, cold=True), questions[d][0]) for d in cold_docs]
    return warm, cold, bare_share(per_entry.values())


def bare_share(questions_per_entry: Iterable[int]) -> float:
    """The expected share of customer questions whose entry has no similar question yet.

    The posterior predictive of a uniform Dirichlet prior over the entries (one
    pseudo-question each, Laplace's rule) updated with every similar question as one observed
    question: bare entries / (entries + similar questions). With no similar questions it is
    the share of bare entries; as wordings accumulate on the entries customers ask about,
    bare entries nobody asks weigh less.
    """
    counts = list(questions_per_entry)
    bare = sum(1 for n in counts if n == 1)
    return bare / max(1, sum(counts))


def _sample(items: list[T], limit: int, rng: random.Random) -> list[T]:
    """At most `limit` items, in their original order."""
    if len(items) <= limit:
        return list(items)
    chosen = set(rng.sample(range(len(items)), limit))
    return [item for i, item in enumerate(items) if i in chosen]


def _weigh(
    index: KnowledgeIndex,
    warm: list[Probe],
    cold: list[Probe],
    cold_share: float,
    misses: Sequence[str],
    chat: Sequence[str],
) -> list[_Sample]:
    """All samples, weighted: positives sum to 1 - NEGATIVE_SHARE, split warm/cold by the
    cold probes' share; negatives (misses and off-topic alike) sum to NEGATIVE_SHARE."""
    samples: list[_Sample] = []
    parts = [(warm, 1.0 - cold_share if cold else 1.0, False), (cold, cold_share, True)]
    for probes, share, is_cold in parts:
        for matches, right_id in probes:
            ids = [m.entry.id for m in matches]
            weight = (1.0 - NEGATIVE_SHARE) * share / len(probes)
            right = ids[:1] == [right_id]
            samples.append(_Sample(features(matches), right, right_id in ids, weight,
                                   eligible=_eligible(matches, right, is_cold),
                                   group=right_id))
    negatives = [(q, False) for q in misses] + [(q, True) for q in chat]
    for question, is_chat in negatives:
        matches = index.match(question, limit=3)
        weight = NEGATIVE_SHARE / len(negatives)
        samples.append(_Sample(features(matches), False, False, weight, is_chat,
                               eligible=bool(matches) and _supported(matches[0])))
    return samples


def _supported(match: Match) -> bool:
    return len(match.entry.similar) >= AUTO_MIN_SIMILAR


def _eligible(matches: list[Match], right: bool, cold: bool) -> bool:
    """Whether a probe's top match could be sent: its entry's support as the probe saw it
    (its own question left out; a cold probe's entry holds none of its similar questions)."""
    if not matches:
        return False
    if not right:
        return _supported(matches[0])
    similar = 0 if cold else len(matches[0].entry.similar) - 1
    return similar >= AUTO_MIN_SIMILAR


def _auto_threshold(
    scored: list[tuple[float, _Sample]],
) -> tuple[float, float | None, float | None]:
    """(threshold, precision, coverage): the lowest confidence whose auto-replies keep the
    target precision with ~90% certainty, or NEVER when none does.

    Never under the target itself: every auto-reply's own calibrated chance of being right
    (the "匹配 xx%" reps see) is at least what auto-replies promise, not only their average.
    """
    total_positive = sum(s.weight for _, s in scored if s.in_top3 or s.right) or 1.0
    running = RunningPrecision()
    found: tuple[float, float, float] | None = None
    for n, (prob, sample) in enumerate(sorted(scored, key=lambda item: -item[0])):
        if not sample.eligible:
            continue  # never sent, whatever its confidence (AUTO_MIN_SIMILAR)
        running.add(sample.weight, sample.right, sample.group or f"#{n}")
        precision = running.precision
        if prob < TARGET_PRECISION:
            break  # this answer's own chance of being right is under the promise
        effective = running.effective(len(scored))
        if wilson_lower(precision, effective, CERTAINTY_Z) >= TARGET_PRECISION:
            found = (prob, precision, running.right / total_positive)
    if found is None:
        return NEVER, None, None
    return round(found[0], 4), round(found[1], 4), round(found[2], 4)


def _suggest_threshold(scored: list[tuple[float, _Sample]]) -> float:
    """The floor under which nothing is suggested: above most off-topic questions, below
    most right answers that would be shown in the top 3."""
    chat = sorted(p for p, s in scored if s.offtopic)
    shown = sorted(p for p, s in scored if s.in_top3 and s.weight > 0)
    floor = _quantile(chat) if chat else 0.0
    if shown:
        floor = min(floor, shown[int(MAX_HIDDEN_RIGHT * len(shown))])
    return round(max(floor, 0.0), 4)


def _quantile(ordered: Sequence[float]) -> float:
    """The OFFTOPIC_QUANTILE of sorted confidences (a little above it: ties stay under)."""
    value = ordered[min(len(ordered) - 1, int(OFFTOPIC_QUANTILE * len(ordered)))]
    return round(value + 1e-4, 4)
