"""The FAQ index: postings give candidates, fused BM25 + fuzzy ratio ranks them."""

from __future__ import annotations

import copy
import logging
import time
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from knowledge import explain, search, segment
from knowledge.confidence import DEFAULT_MODEL, ConfidenceModel
from knowledge.errors import EntryNotFoundError
from knowledge.model import FaqEntry, KnowledgeBase, Synonyms
from knowledge.postings import Bm25Field
from knowledge.segment import Analysis, Analyzer, char_grams

logger = logging.getLogger(__name__)

# Fusion weights of the three signals: each counts the same. A principled default, not fitted
# on any evaluation set; on the demo KB's leave-one-out probes every weighting we tried is
# within a point of it (docs/knowledge.md).
CHAR_WEIGHT = 1 / 3
WORD_WEIGHT = 1 / 3
FUZZ_WEIGHT = 1 / 3
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
@dataclass(frozen=True, slots=True)
class Match:
    """One ranked entry: the question that matched best, its score and confidence."""

    entry: FaqEntry
    matched_question: str
    score: float
    confidence: float
    # Share of the query's words that the matched question holds, each word weighted by its
    # idf in the KB and by how much it says in general Chinese (segment.content_weight).
    coverage: float = 0.0
    # Share of the query's words (weighted as for coverage) that no indexed question holds:
    # high for a question about something the KB never mentions.
    novelty: float = 0.0
    # Score of the entry's second best question among the reranked candidates (0 if none):
    # an entry whose several wordings come close is a safer answer than one lucky wording.
    support: float = 0.0


@dataclass(frozen=True, slots=True)
class _Docs:
    """The indexed questions (standard and similar), as parallel columns."""

    entry: array[int]
    question: array[int]
    text: list[str]
    words: list[tuple[str, ...]]


class KnowledgeIndex:
    """An immutable FAQ index; build() once, match() from any thread."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        docs: _Docs,
        analyzer: Analyzer,
        model: ConfidenceModel = DEFAULT_MODEL,
    ) -> None:
        self._entries = tuple(entries)
        self._docs = docs
        self._analyzer = analyzer
        self._model = model
        self._sibling_docs: dict[int, tuple[int, ...]] | None = None
        self._texts: frozenset[str] | None = None
        self._general = segment.generic_idf()
        passes = BUILD_PASSES if len(docs.text) >= SLICED_BUILD_FROM else 1
        chars = Bm25Field(docs.text, char_grams, passes=passes)
        words = Bm25Field(docs.words, passes=passes)
        self._corpus = search.Corpus(chars, words, docs.text, docs.words)

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
    def model(self) -> ConfidenceModel:
        """The model turning scores into confidences (a KB's calibration fits its own)."""
        return self._model

    def with_model(self, model: ConfidenceModel) -> KnowledgeIndex:
        """The same index with another confidence model (shares everything else)."""
        clone = copy.copy(self)
        clone._model = model
        return clone

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
        return KnowledgeIndex(entries, docs, self._analyzer, self._model)

    def analyse(self, query: str) -> Analysis:
        """The query as the index sees it (for debugging and the CLI)."""
        return self._analyzer.analyse(query)

    def match(self, query: str, limit: int = 3) -> list[Match]:
        """The best entries for a query, best first, at most `limit`."""
        return self._match(self._analyzer.analyse(query), limit, ())

    def find(self, query: str, limit: int = 8) -> list[Match]:
        """A rep's keyword search: the best entries whose matched question shares two characters
        in a row with the query (after synonyms; a one-character query: that character)."""
        # Ranking alone fills the list with entries sharing one character (过敏 -> 过期), and
        # so does "shares a word": 哪 and 款 are words (快递到哪了 -> 痘肌用哪款).
        analysis = self._analyzer.analyse(query)
        pieces = {g for g in analysis.grams if len(g) == 2} or set(analysis.grams)
        found = []
        for match in self._match(analysis, limit, ()):
            text = self._analyzer.analyse(match.matched_question).text
            if any(p in text for p in pieces):
                found.append(match)
        return found

    def explain(self, query: str, limit: int = 5) -> list[tuple[Match, explain.Channels]]:
        """The best entries for a query, each with its score split into the channels."""
        analysis = self._analyzer.analyse(query)
        found = []
        for match in self._match(analysis, limit, ()):
            pos = next(i for i, e in enumerate(self._entries) if e.id == match.entry.id)
            number = match.entry.questions.index(match.matched_question)
            doc = next(d for d in self._siblings()[pos] if self._docs.question[d] == number)
            weights = (CHAR_WEIGHT, WORD_WEIGHT, FUZZ_WEIGHT)
            found.append((match, explain.channels(self._corpus, analysis, doc, weights)))
        return found

    def questions(self) -> list[tuple[str, int, str]]:
        """(entry id, question number, question) of every indexed question (calibration)."""
        return [
            (self._entries[e].id, q, self._entries[e].questions[q])
            for e, q in zip(self._docs.entry, self._docs.question, strict=True)
        ]

    def contains(self, question: str) -> bool:
        """Whether some indexed question reads the same as this one once analysed."""
        if self._texts is None:
            self._texts = frozenset(self._docs.text)
        return self._analyzer.analyse(question).text in self._texts

    def held_out(self, doc: int, *, cold: bool = False, limit: int = 3) -> list[Match]:
        """Ask question `doc` (an index into questions()) with itself left out of the index.

        Copies of it in the same entry go too. `cold` also leaves out every other similar
        question of its entry, as if the entry were new and held only its standard question.
        """
        entry = self._docs.entry[doc]
        analysis = self._analyzer.analyse(self._question_text(doc))
        siblings = self._siblings().get(entry, ())
        if cold:
            exclude = {d for d in siblings if self._docs.question[d] > 0 or d == doc}
        else:
            exclude = {d for d in siblings if self._docs.text[d] == analysis.text} | {doc}
        return self._match(analysis, limit, exclude)

    def _question_text(self, doc: int) -> str:
        return self._entries[self._docs.entry[doc]].questions[self._docs.question[doc]]

    def _siblings(self) -> dict[int, tuple[int, ...]]:
        """Entry position -> its questions' doc ids (built on first use)."""
        if self._sibling_docs is None:
            grouped: dict[int, list[int]] = {}
            for doc, entry in enumerate(self._docs.entry):
                grouped.setdefault(entry, []).append(doc)
            self._sibling_docs = {e: tuple(d) for e, d in grouped.items()}
        return self._sibling_docs

    def _match(self, analysis: Analysis, limit: int, exclude: Collection[int]) -> list[Match]:
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
        found = search.search(
            self._corpus, analysis.text, analysis.grams, analysis.words, weights, exclude
        )
        # An entry scores as its best question; ties go to the earlier entry.
        best: dict[int, tuple[float, int]] = {}
        second: dict[int, float] = {}  # each entry's second best question score
        entry_of = self._docs.entry
        for doc_id, fused in found:
            entry = entry_of[doc_id]
            held = best.get(entry)
            if held is None:
                best[entry] = (fused, doc_id)
            elif held[0] < fused:
                second[entry] = held[0]
                best[entry] = (fused, doc_id)
            elif second.get(entry, -1.0) < fused:
                second[entry] = fused
        ranked = sorted((-score, entry, doc) for entry, (score, doc) in best.items())
        return self._matches(ranked, limit, analysis.words, second, exclude)

    def _matches(
        self,
        ranked: list[tuple[float, int, int]],
        limit: int,
        words: Sequence[str],
        second: dict[int, float],
        exclude: Collection[int] = (),
    ) -> list[Match]:
        """Turn ranked (-score, entry, doc) triples into Matches with confidences."""
        if not ranked:
            return []
        matches: list[Match] = []
        scores = [-negated for negated, _, _ in ranked[:3]] + [0.0, 0.0]
        probability = self._model.probability
        weighted, total, novelty = self._query_words(words, exclude)
        doc_words, doc_question = self._docs.words, self._docs.question
        for rank, (negated, entry_pos, doc_id) in enumerate(ranked[:limit]):
            score = -negated
            # The top match leads the 2nd and 3rd; any other trails the top.
            lead2 = score - scores[1] if rank == 0 else score - scores[0]
            lead3 = score - scores[2] if rank == 0 else lead2
            held = doc_words[doc_id]
            covered = 0.0
            for word, weight in weighted:
                if word in held:
                    covered += weight
            covered = covered / total if total else 0.0
            entry = self._entries[entry_pos]
            number = doc_question[doc_id]
            question = entry.question if number == 0 else entry.similar[number - 1]
            support = max(0.0, second.get(entry_pos, 0.0))
            conf = round(probability(score, lead2, lead3, covered, novelty, support), 4)
            matches.append(
                Match(entry, question, round(score, 4), conf, covered, novelty, round(support, 4))
            )
        return matches

    def _query_words(
        self, words: Sequence[str], exclude: Collection[int]
    ) -> tuple[list[tuple[str, float]], float, float]:
        """The query's distinct words with their weights (KB idf x general idf, see
        segment.content_weight), their total, and the share of it that no indexed question
        holds (left-out questions aside)."""
        lookup = self._corpus.words.lookup
        general = self._general.get
        cap = segment.CONTENT_IDF
        weighted: list[tuple[str, float]] = []
        unseen = total = 0.0
        for word in dict.fromkeys(words):  # (ordered: sums stay deterministic)
            start, end, idf = lookup(word)
            weight = idf * general(word, cap)  # the constant 1/cap cancels in the shares
            weighted.append((word, weight))
            total += weight
            if end == start or (exclude and end - start <= sum(
                1 for d in exclude if word in self._docs.words[d]
            )):
                unseen += weight
        return weighted, total, (unseen / total if total else 0.0)
