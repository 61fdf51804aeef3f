"""BM25 postings for one field, impact-ordered and flattened into compact arrays."""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

# Standard BM25 saturation; b is lower than the usual 0.75 because FAQ questions are short
# and a longer paraphrase should not be punished much for its extra words.
K1 = 1.2
B = 0.5
# Looked-up terms cached per field (about 2 MB at most).
SLOT_CACHE_SIZE = 8192

T = TypeVar("T")


class Bm25Field:
    """Postings of one field: per term, (doc, BM25 weight) sorted by weight, highest first.

    Terms are stored as sorted 64-bit hashes rather than a dict of strings: at 100k questions
    the char-bigram vocabulary alone would cost more memory than all the postings. A hash
    collision between two terms (about 2**-64 per pair) would only blur one score.
    """

    __slots__ = (
        "_keys",
        "_offsets",
        "_docs",
        "_weights",
        "_idf",
        "_lengths",
        "_avgdl",
        "_n",
        "_slots",
        "_total",
        "_norms",
    )

    def __init__(
        self,
        docs: Sequence[T],
        tokens: Callable[[T], Iterable[str]] | None = None,
        passes: int = 1,
    ) -> None:
        """Index docs (each its tokens, or tokens(doc)); `passes` > 1 builds the postings a
        slice of the term hashes at a time, re-reading the docs, to cut the memory peak."""
        self._n = len(docs)
        self._lengths = array("H")
        self._avgdl = 1.0
        # (start, end, idf) of recently looked-up terms: a binary search over the keys costs more
        # than the rest of a term's work, and customers' questions reuse a small set of terms.
        self._slots: dict[str, tuple[int, int, float]] = {}
        self._keys = array("q")
        self._offsets = array("i", [0])
        self._docs = array("i")
        self._weights = array("f")
        self._idf = array("f")
        self._total = 0
        bounds = [-(2**63) + (2**64 * part) // passes for part in range(passes + 1)]
        for part in range(passes):
            postings = self._collect(docs, tokens, bounds[part], bounds[part + 1], part == 0)
            if part == 0:
                self._avgdl = (sum(self._lengths) / self._n) if self._n else 1.0
                # Every doc's distinct terms are known now: size the flat arrays once
                # (growing them by extend leaves freed copies behind in the heap).
                self._docs = array("i", bytes(4 * self._total))
                self._weights = array("f", bytes(4 * self._total))
            self._flatten(postings)
        self._norms = array("d", (K1 * (1 - B + B * n / self._avgdl) for n in self._lengths))

    def _collect(
        self,
        docs: Sequence[T],
        tokens: Callable[[T], Iterable[str]] | None,
        low: int,
        high: int,
        count_lengths: bool,
    ) -> dict[int, array[int]]:
        """Flat [doc, tf, doc, tf, ...] per term hash in [low, high), in arrays: lists of int
        objects would cost ~9x the memory, and the build's peak is what RSS keeps."""
        postings: dict[int, array[int]] = {}
        get = postings.get
        for doc_id, doc in enumerate(docs):
            counts = Counter(doc if tokens is None else tokens(doc))  # type: ignore[arg-type]
            if count_lengths:
                self._lengths.append(min(counts.total(), 65535))
                self._total += len(counts)
            for term, tf in counts.items():
                key = hash(term)
                if not low <= key < high:
                    continue
                flat = get(key)
                if flat is None:
                    flat = postings[key] = array("i")
                flat.append(doc_id)
                flat.append(tf)
        return postings

    def _flatten(self, postings: dict[int, array[int]]) -> None:
        """Append the collected terms, in key order, as impact-ordered postings."""
        for key in sorted(postings):
            flat = postings.pop(key)
            idf = self._idf_for(len(flat) // 2)
            self._keys.append(key)
            self._idf.append(idf)
            weighted = sorted(
                (
                    (idf * self.saturate(tf, self._lengths[d]), d)
                    for d, tf in zip(flat[::2], flat[1::2], strict=True)
                ),
                reverse=True,
            )
            start, end = self._offsets[-1], self._offsets[-1] + len(weighted)
            self._docs[start:end] = array("i", [d for _, d in weighted])
            self._weights[start:end] = array("f", [w for w, _ in weighted])
            self._offsets.append(end)

    def _idf_for(self, df: int) -> float:
        """Lucene's BM25 idf: never negative, large for rare terms."""
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def lookup(self, term: str) -> tuple[int, int, float]:
        """(start, end, idf): the term's postings are docs()[start:end] and weights()[start:end],
        an empty span if the field never saw it."""
        found = self._slots.get(term)
        if found is None:
            key = hash(term)
            pos = bisect_left(self._keys, key)
            if pos < len(self._keys) and self._keys[pos] == key:
                found = (self._offsets[pos], self._offsets[pos + 1], self._idf[pos])
            else:
                found = (0, 0, self._idf_for(0))
            if len(self._slots) >= SLOT_CACHE_SIZE:
                self._slots.clear()  # crude but bounded; safe under concurrent readers
            self._slots[term] = found
        return found

    def saturate(self, tf: int, length: int) -> float:
        """The BM25 term-frequency factor with length normalisation."""
        return tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self._avgdl))

    def idf(self, term: str) -> float:
        """The term's idf; a term the field never saw gets the idf of df = 0."""
        return self.lookup(term)[2]

    def postings(self, term: str, limit: int) -> tuple[array[int], array[float]] | None:
        """The first `limit` docs and weights of a term, highest weight first; None if unseen."""
        start, end, _ = self.lookup(term)
        if start == end:
            return None
        end = min(end, start + limit)
        return self._docs[start:end], self._weights[start:end]

    def docs(self) -> array[int]:
        """All postings' documents, term after term, highest weight first within a term."""
        return self._docs

    def weights(self) -> array[float]:
        """All postings' BM25 weights (idf * saturated tf), parallel to docs()."""
        return self._weights

    def norm(self, doc_id: int) -> float:
        """The length part of saturate() for a document: tf / (tf + norm) * (K1 + 1)."""
        return self._norms[doc_id]

    def norms(self) -> array[float]:
        """norm() of every document, by document."""
        return self._norms

    def size(self) -> int:
        """Number of postings."""
        return len(self._docs)
