"""The FAQ index: postings give candidates, fused BM25 + fuzzy ratio ranks them."""

from __future__ import annotations

import heapq
import logging
import math
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from knowledge import segment
from knowledge.errors import EntryNotFoundError
from knowledge.model import FaqEntry, KnowledgeBase, Synonyms
from knowledge.postings import K1, Bm25Field
from knowledge.segment import Analysis, Analyzer, char_grams

logger = logging.getLogger(__name__)

# Fusion weights of the three signals (chosen on the dev set, then fixed).
CHAR_WEIGHT = 0.45
WORD_WEIGHT = 0.25
FUZZ_WEIGHT = 0.30
# How many candidate questions get the exact rerank; a few dozen is plenty for top-3.
RERANK_DEPTH = 20
# Bounds on postings walked per query, so a huge KB never costs a full scan: lists are
# impact-ordered, so their head holds the documents the term matters most for.
TERM_POSTINGS_CAP = 150
QUERY_POSTINGS_BUDGET = 800
# Confidence = sigmoid(A * lead over the 2nd + B * lead over the 3rd + C), a logistic fit
# on dev (leads separate right from wrong far better than the raw score), then fixed.
CONF_LEAD2 = 5.2
CONF_LEAD3 = 9.9
CONF_BIAS = -1.9
# A top score below this is a weak match however far it leads (it may be the only
# candidate in a small KB), so its confidence is scaled down towards 0.
CONF_MIN_SCORE = 0.35

# (term, query tf, idf) for each distinct query term of one field.
QueryTerms = list[tuple[str, int, float]]


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
        self._chars = Bm25Field(char_grams(text) for text in docs.text)
        self._words = Bm25Field(docs.words)

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
            len(entries), len(docs.text), (time.perf_counter() - started) * 1000,
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
        chars = self._query_terms(self._chars, analysis.grams)
        words = self._query_terms(self._words, analysis.words)
        ideals = (_ideal(chars), _ideal(words))
        best: dict[int, tuple[float, int]] = {}
        for doc_id in self._candidates(chars, words, ideals):
            fused = self._fused(analysis.text, chars, words, ideals, doc_id)
            entry = self._docs.entry[doc_id]
            if entry not in best or best[entry][0] < fused:
                best[entry] = (fused, doc_id)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))
        return self._matches(ranked, limit)

    @staticmethod
    def _query_terms(field: Bm25Field, terms: Iterable[str]) -> QueryTerms:
        """Distinct query terms with their counts and idf, rarest first."""
        found = [(t, qtf, field.idf(t)) for t, qtf in Counter(terms).items()]
        return sorted(found, key=lambda item: -item[2])

    def _candidates(
        self, chars: QueryTerms, words: QueryTerms, ideals: tuple[float, float]
    ) -> list[int]:
        """Top documents by BM25 accumulated from postings, rarest terms first."""
        walks = [
            (idf, field, term, qtf * weight / ideal)
            for field, query, weight, ideal in (
                (self._chars, chars, CHAR_WEIGHT, ideals[0]),
                (self._words, words, WORD_WEIGHT, ideals[1]),
            )
            for term, qtf, idf in query
        ]
        walks.sort(key=lambda walk: -walk[0])
        scores: dict[int, float] = {}
        budget = QUERY_POSTINGS_BUDGET
        for _, field, term, scale in walks:
            found = field.postings(term, min(TERM_POSTINGS_CAP, budget))
            if found is None:
                continue
            get = scores.get
            for doc_id, weight in zip(*found, strict=True):
                scores[doc_id] = get(doc_id, 0.0) + weight * scale
            budget -= len(found[0])
            if budget <= 0:
                break
        return heapq.nlargest(RERANK_DEPTH, scores, key=scores.__getitem__)

    def _fused(
        self, text: str, chars: QueryTerms, words: QueryTerms, ideals: tuple[float, float],
        doc_id: int,
    ) -> float:
        """Exact fused score of one candidate: char BM25, word BM25 and fuzzy ratio."""
        doc_text, doc_words = self._docs.text[doc_id], self._docs.words[doc_id]
        # BM25 written out (tf * (K1 + 1) / (tf + norm)): this loop is the rerank's hot path.
        c = w = 0.0
        norm = self._chars.norm(doc_id)
        for term, qtf, idf in chars:
            tf = doc_text.count(term)
            if tf:
                c += qtf * idf * tf / (tf + norm)
        norm = self._words.norm(doc_id)
        for term, qtf, idf in words:
            tf = doc_words.count(term)
            if tf:
                w += qtf * idf * tf / (tf + norm)
        ratio = fuzz.ratio(text, doc_text) / 100.0
        bm25 = CHAR_WEIGHT * c / ideals[0] + WORD_WEIGHT * w / ideals[1]
        return bm25 * (K1 + 1) + FUZZ_WEIGHT * ratio

    def _matches(self, ranked: list[tuple[int, tuple[float, int]]], limit: int) -> list[Match]:
        """Turn ranked (entry, (score, doc)) pairs into Matches with confidences."""
        matches: list[Match] = []
        scores = [score for _, (score, _) in ranked[:3]] + [0.0, 0.0]
        for rank, (entry_pos, (score, doc_id)) in enumerate(ranked[:limit]):
            # The top match leads the 2nd and 3rd; any other trails the top.
            lead2 = score - scores[1] if rank == 0 else score - scores[0]
            lead3 = score - scores[2] if rank == 0 else lead2
            entry = self._entries[entry_pos]
            question = entry.questions[self._docs.question[doc_id]]
            conf = round(confidence(score, lead2, lead3), 4)
            matches.append(Match(entry, question, round(score, 4), conf))
        return matches


def _ideal(query: QueryTerms) -> float:
    """The score of a question holding each query term once at average length (normaliser)."""
    return sum(q * idf for _, q, idf in query) or 1.0
