"""BM25 postings for one field, impact-ordered and flattened into compact arrays."""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable

# Standard BM25 saturation; b is lower than the usual 0.75 because FAQ questions are short
# and a longer paraphrase should not be punished much for its extra words.
K1 = 1.2
B = 0.5


class Bm25Field:
    """Postings of one field: per term, (doc, BM25 weight) sorted by weight, highest first.

    Terms are stored as sorted 64-bit hashes rather than a dict of strings: at 100k questions
    the char-bigram vocabulary alone would cost more memory than all the postings. A hash
    collision between two terms (about 2**-64 per pair) would only blur one score.
    """

    __slots__ = ("_keys", "_offsets", "_docs", "_weights", "_idf", "_lengths", "_avgdl", "_n")

    def __init__(self, docs: Iterable[Iterable[str]]) -> None:
        self._lengths = array("H")
        # Flat [doc, tf, doc, tf, ...] per term hash while building.
        postings: dict[int, list[int]] = {}
        for doc_id, terms in enumerate(docs):
            counts = Counter(terms)
            self._lengths.append(min(counts.total(), 65535))
            for term, tf in counts.items():
                postings.setdefault(hash(term), []).extend((doc_id, tf))
        self._n = len(self._lengths)
        self._avgdl = (sum(self._lengths) / self._n) if self._n else 1.0
        self._keys = array("q", sorted(postings))
        self._offsets = array("i", [0])
        self._docs = array("i")
        self._weights = array("f")
        self._idf = array("f")
        for key in self._keys:
            flat = postings.pop(key)
            idf = self._idf_for(len(flat) // 2)
            self._idf.append(idf)
            weighted = sorted(
                ((idf * self.saturate(tf, self._lengths[d]), d)
                 for d, tf in zip(flat[::2], flat[1::2], strict=True)),
                reverse=True,
            )
            self._docs.extend(d for _, d in weighted)
            self._weights.extend(w for w, _ in weighted)
            self._offsets.append(len(self._docs))

    def _idf_for(self, df: int) -> float:
        """Lucene's BM25 idf: never negative, large for rare terms."""
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def _slot(self, term: str) -> int:
        key = hash(term)
        pos = bisect_left(self._keys, key)
        return pos if pos < len(self._keys) and self._keys[pos] == key else -1

    def saturate(self, tf: int, length: int) -> float:
        """The BM25 term-frequency factor with length normalisation."""
        return tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self._avgdl))

    def idf(self, term: str) -> float:
        """The term's idf; a term the field never saw gets the idf of df = 0."""
        slot = self._slot(term)
        return self._idf[slot] if slot >= 0 else self._idf_for(0)

    def postings(self, term: str, limit: int) -> tuple[array[int], array[float]] | None:
        """The first `limit` docs and weights of a term, highest weight first; None if unseen."""
        slot = self._slot(term)
        if slot < 0:
            return None
        start = self._offsets[slot]
        end = min(self._offsets[slot + 1], start + limit)
        return self._docs[start:end], self._weights[start:end]

    def norm(self, doc_id: int) -> float:
        """The length part of saturate() for a document: tf / (tf + norm) * (K1 + 1)."""
        return K1 * (1 - B + B * self._lengths[doc_id] / self._avgdl)

    def size(self) -> int:
        """Number of postings."""
        return len(self._docs)
