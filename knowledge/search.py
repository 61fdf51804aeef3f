"""One query against the postings: bounded candidate walk, then an exact fused rerank.

The walk takes the rarest terms first and walks a term's postings whole when they fit the
per-term cap and the query's budget, so the scores it accumulates are exact. A longer list is
not walked: the term is "pending", and the rerank counts it in each candidate's text (a C
substring search skips the candidates without it), which is far cheaper than walking
hundreds of postings of a common character. So the candidates are ranked by their rare
terms, and no query scans every question.

When the rare terms yield too few candidates, the heads of the pending terms' impact-ordered
lists add some, each credited only its excess over the list's first unwalked weight so that
candidates rank by an upper bound rather than by being short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat

from rapidfuzz import fuzz

from knowledge.postings import K1, Bm25Field

# One query term of one field, walk order key first: (idf, in the word field?, term,
# scale = query tf * field weight / the query's ideal score, start and end of its postings).
Walk = tuple[float, bool, str, float, int, int]


@dataclass(frozen=True, slots=True)
class Weights:
    """Fusion weights and walk bounds (owned by knowledge.index, passed per query)."""

    char: float
    word: float
    fuzz: float
    depth: int
    term_cap: int
    budget: int


@dataclass(frozen=True, slots=True)
class Corpus:
    """What a query is scored against: both fields and the indexed texts and words."""

    chars: Bm25Field
    words: Bm25Field
    text: Sequence[str]
    doc_words: Sequence[tuple[str, ...]]


# A term the walk did not cover: (in the word field?, term, coef); a question's exact part
# for it is coef * tf / (tf + norm), computed in the rerank.
_Pending = tuple[bool, str, float]
# A term too common to walk whole: (in the word field?, start of its postings, scale).
_Head = tuple[bool, int, float]


def walks(field: Bm25Field, terms: Iterable[str], weight: float, is_word: bool) -> list[Walk]:
    """The distinct query terms of one field, in order of first occurrence.

    Each term's scores are normalised by the query's ideal score: that of a question holding
    each query term once at average length.
    """
    lookup = field.lookup
    found = [(lookup(term), term, qtf) for term, qtf in Counter(terms).items()]
    ideal = sum(qtf * idf for (_, _, idf), _, qtf in found) or 1.0
    return [
        (idf, is_word, term, qtf * weight / ideal, start, end)
        for (start, end, idf), term, qtf in found
    ]


def search(
    corpus: Corpus, text: str, grams: Iterable[str], words: Iterable[str], w: Weights,
    exclude: Collection[int] = (),
) -> list[tuple[int, float]]:
    """(doc, exact fused score) for the best candidates of one analysed query.

    `exclude` names questions to leave out (the calibration asks a question of the index
    with itself held out); they still count in the BM25 statistics, which barely moves them.
    """
    walks_ = walks(corpus.chars, grams, w.char, False) + walks(corpus.words, words, w.word, True)
    walks_.sort(key=lambda walk: -walk[0])
    scores: dict[int, float] = {}
    get = scores.get
    pending: list[_Pending] = []
    heads: list[_Head] = []
    cap = w.term_cap
    budget = w.budget
    limit = min(cap, budget)
    char_docs, char_weights = corpus.chars.docs(), corpus.chars.weights()
    word_docs, word_weights = corpus.words.docs(), corpus.words.weights()
    for idf, is_word, term, scale, start, end in walks_:
        if end - start > limit:
            pending.append((is_word, term, scale * idf * (K1 + 1)))
            if end - start > cap:
                heads.append((is_word, start, scale))
            continue
        if end == start:
            continue  # no indexed question holds it
        docs, weights = (word_docs, word_weights) if is_word else (char_docs, char_weights)
        for doc, weight in zip(docs[start:end], weights[start:end], strict=True):
            scores[doc] = get(doc, 0.0) + weight * scale
        budget -= end - start
        limit = min(cap, budget)
    for doc in exclude:
        scores.pop(doc, None)
    rank = scores
    if heads and len(scores) < w.depth:
        # (the remaining budget, shared: at least a few postings each)
        take = min(cap, max(budget, w.depth) // len(heads) + 1)
        rank = _heads(corpus, scores, heads, take)
    if rank is not scores:
        for doc in exclude:
            rank.pop(doc, None)
    # (sorted runs its comparisons in C: 3x faster than heapq.nlargest here, and as stable)
    top = sorted(rank, key=rank.__getitem__, reverse=True)[: w.depth]
    return _rerank(corpus, text, top, scores, pending, w.fuzz)


def _heads(
    corpus: Corpus, scores: dict[int, float], heads: list[_Head], take: int
) -> dict[int, float]:
    """Ranking keys with candidates from the heads of the common terms' lists.

    Too few questions hold a rare query term, so the heads of the common terms' lists add
    candidates. Any question past a head may hold the term with a weight up to the first
    unwalked one (the floor), so a head document is credited only its excess over the
    floor: candidates rank by their upper bound, not by being short.
    """
    rank = dict(scores)
    get = rank.get
    for is_word, start, scale in heads:
        field = corpus.words if is_word else corpus.chars
        docs, weights = field.docs(), field.weights()
        floor = weights[start + take]
        for doc, weight in zip(
            docs[start : start + take], weights[start : start + take], strict=True
        ):
            rank[doc] = get(doc, 0.0) + (weight - floor) * scale
    return rank


def _rerank(
    corpus: Corpus,
    text: str,
    top: list[int],
    scores: dict[int, float],
    pending: list[_Pending],
    fuzz_w: float,
) -> list[tuple[int, float]]:
    """Exact fused scores of the candidates: walked part + fuzzy ratio + pending terms' parts.

    A pending term's part is coef * tf / (tf + norm); `term in text` (a C search) skips the
    candidates without it before any counting.
    """
    texts = [corpus.text[doc] for doc in top]
    ratios = map(fuzz.ratio, repeat(text), texts)
    fused = [
        scores.get(doc, 0.0) + fuzz_w * ratio / 100.0
        for doc, ratio in zip(top, ratios, strict=True)
    ]
    if not pending:
        return list(zip(top, fused, strict=True))
    # "00" occurs twice in "000" as a char gram but str.count finds it once.
    plain = [(t, c) for is_word, t, c in pending if not is_word and not _repeats(t)]
    repeated = [(t, c) for is_word, t, c in pending if not is_word and _repeats(t)]
    words = [(t, c) for is_word, t, c in pending if is_word]
    char_norms, word_norms = corpus.chars.norms(), corpus.words.norms()
    for i, doc in enumerate(top):
        doc_text, score = texts[i], fused[i]
        for term, coef in plain:
            if term in doc_text:
                tf = doc_text.count(term)
                score += coef * tf / (tf + char_norms[doc])
        for term, coef in repeated:
            if term in doc_text:
                tf = _overlapping(doc_text, term)
                score += coef * tf / (tf + char_norms[doc])
        if words:
            doc_words = corpus.doc_words[doc]
            for term, coef in words:
                if term in doc_words:
                    tf = doc_words.count(term)
                    score += coef * tf / (tf + word_norms[doc])
        fused[i] = score
    return list(zip(top, fused, strict=True))


def _repeats(term: str) -> bool:
    """Whether a char gram can overlap itself (a bigram of one character twice)."""
    return len(term) == 2 and term[0] == term[1]


def _overlapping(text: str, term: str) -> int:
    """Occurrences of term in text, overlaps included (as char_grams counts them)."""
    count, pos = 0, text.find(term)
    while pos >= 0:
        count += 1
        pos = text.find(term, pos + 1)
    return count
