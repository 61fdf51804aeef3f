"""The FAQ index: postings give candidates, fused BM25 + fuzzy ratio ranks them."""

from __future__ import annotations

import logging
import math
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from knowledge import search, segment
from knowledge.errors import EntryNotFoundError
from knowledge.model import FaqEntry, KnowledgeBase, Synonyms
from knowledge.postings import Bm25Field
from knowledge.segment import Analysis, Analyzer, char_grams

logger = logging.getLogger(__name__)

# Fusion weights of the three signals (chosen on the dev set, then fixed).
CHAR_WEIGHT = 0.45
WORD_WEIGHT = 0.25
FUZZ_WEIGHT = 0.30
# How many candidate questions get the exact rerank; a few dozen is plenty for top-3.
RERANK_DEPTH = 20
# Bounds on postings walked per query, so a huge KB never costs a full scan: a term with
# more postings than the cap (or than the budget left) is counted in the candidates instead
# (see knowledge.search). Lowering either costs online P@1 on dev; raising them, speed.
TERM_POSTINGS_CAP = 100
QUERY_POSTINGS_BUDGET = 400
# From this many questions, each field is built in slices of its term hashes, one after
# another: the build's memory peak, which RSS keeps, shrinks; each slice re-reads the docs.
BUILD_PASSES = 4
SLICED_BUILD_FROM = 20000
# Confidence = sigmoid(A * lead over the 2nd + B * lead over the 3rd + C), a logistic fit
# on dev (leads separate right from wrong far better than the raw score), then fixed.
CONF_LEAD2 = 5.2
CONF_LEAD3 = 9.9
CONF_BIAS = -1.9
# A top score below this is a weak match however far it leads (it may be the only
# candidate in a small KB), so its confidence is scaled down towards 0.
CONF_MIN_SCORE = 0.35


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked entry: the question that matched best, its score and confidence."""

    entry: FaqEntry
    matched_question: str
    score: float
    confidence: float


@dataclass(frozen=True, slots=True)
class _Docs:
    """The indexed questions (standard and similar), as parallel columns."""

    entry: array[int]
    question: array[int]
    text: list[str]
    words: list[tuple[str, ...]]


def confidence(score: float, lead2: float, lead3: float) -> float:
    """Calibrated probability that a match is right, from its score and its leads."""
    logit = CONF_LEAD2 * lead2 + CONF_LEAD3 * lead3 + CONF_BIAS
    return min(1.0, score / CONF_MIN_SCORE) / (1.0 + math.exp(-logit))


class KnowledgeIndex:
    """An immutable FAQ index; build() once, match() from any thread."""

    def __init__(self, entries: Sequence[FaqEntry], docs: _Docs, analyzer: Analyzer) -> None:
        self._entries = tuple(entries)
        self._docs = docs
        self._analyzer = analyzer
        passes = BUILD_PASSES if len(docs.text) >= SLICED_BUILD_FROM else 1
        self._chars = Bm25Field(docs.text, char_grams, passes=passes)
        self._words = Bm25Field(docs.words, passes=passes)
        self._corpus = search.Corpus(self._chars, self._words, docs.text, docs.words)

    @classmethod
    def build(
        cls,
        source: KnowledgeBase | Iterable[FaqEntry],
        *,
        synonyms: Synonyms | None = None,
        terms: Iterable[str] = (),
        builtin_synonyms: bool = True,
        segmenter: segment.Segmenter | None = None,
    ) -> KnowledgeIndex:
        """Index the enabled entries; synonyms and domain terms shape the tokens."""
        started = time.perf_counter()
        table = Synonyms(segment.default_synonyms() if builtin_synonyms else {})
        domain = list(terms)
        if isinstance(source, KnowledgeBase):
            table = table.merged(source.synonyms)
            domain += [p for rule in source.rules for p in rule.phrases]
            source = source.entries
        if synonyms is not None:
            table = table.merged(synonyms)
        entries = [e for e in source if e.enabled]
        domain += [k for e in entries for k in e.keywords]
        analyzer = Analyzer(table.variant_map(), domain, segmenter)
        docs = _Docs(array("i"), array("i"), [], [])
        pool: dict[str, str] = {}  # one string object per distinct word saves memory
        for pos, entry in enumerate(entries):
            for q, question in enumerate(entry.questions):
                analysis = analyzer.analyse(question)
                docs.entry.append(pos)
                docs.question.append(q)
                docs.text.append(analysis.text)
                docs.words.append(tuple(pool.setdefault(w, w) for w in analysis.words))
        index = cls(entries, docs, analyzer)
        logger.info(
            "indexed %d entries, %d questions in %.0f ms",
            len(entries),
            len(docs.text),
            (time.perf_counter() - started) * 1000,
        )
        return index

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """The indexed (enabled) entries."""
        return self._entries

    def __len__(self) -> int:
        return len(self._docs.text)

    def add_similar(self, entry_id: str, question: str) -> KnowledgeIndex:
        """A new index where the entry has one more similar question (feedback)."""
        pos = next((i for i, e in enumerate(self._entries) if e.id == entry_id), None)
        if pos is None:
            raise EntryNotFoundError(entry_id)
        entry = self._entries[pos]
        updated = entry.with_similar(question)
        if updated is entry:
            return self
        entries = list(self._entries)
        entries[pos] = updated
        analysis = self._analyzer.analyse(question)
        old = self._docs
        docs = _Docs(
            array("i", [*old.entry, pos]),
            array("i", [*old.question, len(updated.questions) - 1]),
            [*old.text, analysis.text],
            [*old.words, analysis.words],
        )
        return KnowledgeIndex(entries, docs, self._analyzer)

    def analyse(self, query: str) -> Analysis:
        """The query as the index sees it (for debugging and the CLI)."""
        return self._analyzer.analyse(query)

    def match(self, query: str, limit: int = 3) -> list[Match]:
        """The best entries for a query, best first, at most `limit`."""
        analysis = self._analyzer.analyse(query)
        if not analysis.text or not self._docs.text:
            return []
        weights = search.Weights(
            CHAR_WEIGHT,
            WORD_WEIGHT,
            FUZZ_WEIGHT,
            RERANK_DEPTH,
            TERM_POSTINGS_CAP,
            QUERY_POSTINGS_BUDGET,
        )
        found = search.search(self._corpus, analysis.text, analysis.grams, analysis.words, weights)
        # An entry scores as its best question; ties go to the earlier entry.
        best: dict[int, tuple[float, int]] = {}
        entry_of = self._docs.entry
        for doc_id, fused in found:
            entry = entry_of[doc_id]
            held = best.get(entry)
            if held is None or held[0] < fused:
                best[entry] = (fused, doc_id)
        ranked = sorted((-score, entry, doc) for entry, (score, doc) in best.items())
        return self._matches(ranked, limit)

    def _matches(self, ranked: list[tuple[float, int, int]], limit: int) -> list[Match]:
        """Turn ranked (-score, entry, doc) triples into Matches with confidences."""
        matches: list[Match] = []
        scores = [-negated for negated, _, _ in ranked[:3]] + [0.0, 0.0]
        for rank, (negated, entry_pos, doc_id) in enumerate(ranked[:limit]):
            score = -negated
            # The top match leads the 2nd and 3rd; any other trails the top.
            lead2 = score - scores[1] if rank == 0 else score - scores[0]
            lead3 = score - scores[2] if rank == 0 else lead2
            entry = self._entries[entry_pos]
            question = entry.questions[self._docs.question[doc_id]]
            conf = round(confidence(score, lead2, lead3), 4)
            matches.append(Match(entry, question, round(score, 4), conf))
        return matches
