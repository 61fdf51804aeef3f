"""Why the matcher ranked a question where it did: its fused score split into the channels."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rapidfuzz import fuzz

from knowledge.postings import K1, Bm25Field
from knowledge.search import Corpus, walks
from knowledge.segment import Analysis, char_grams


@dataclass(frozen=True, slots=True)
class Channels:
    """The parts of a fused score: character BM25, word BM25 and the fuzzy ratio."""

    chars: float
    words: float
    fuzzy: float


def _field_part(
    field: Bm25Field, terms: tuple[str, ...], held: Counter[str], norm: float, weight: float,
    is_word: bool,
) -> float:
    """The field's exact contribution for one question (as the rerank computes it)."""
    total = 0.0
    for idf, _, term, scale, _, _ in walks(field, terms, weight, is_word):
        tf = held.get(term, 0)
        if tf:
            total += scale * idf * (K1 + 1) * tf / (tf + norm)
    return total


def channels(
    corpus: Corpus, analysis: Analysis, doc: int, weights: tuple[float, float, float]
) -> Channels:
    """The char, word and fuzzy parts of one indexed question's score for an analysed query."""
    char_w, word_w, fuzz_w = weights
    text = corpus.text[doc]
    chars = _field_part(corpus.chars, analysis.grams, Counter(char_grams(text)),
                        corpus.chars.norm(doc), char_w, False)  # fmt: skip
    words = _field_part(corpus.words, analysis.words, Counter(corpus.doc_words[doc]),
                        corpus.words.norm(doc), word_w, True)  # fmt: skip
    fuzzy = fuzz_w * fuzz.ratio(analysis.text, text) / 100.0
    return Channels(round(chars, 4), round(words, 4), round(fuzzy, 4))
