"""Quick-reply (话术) search by shortcut, title and content, aware of the customer's message."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from knowledge import text as textmod
from knowledge.model import QuickReply

# How much the customer's last message counts against what the rep typed.
CONTEXT_WEIGHT = 0.4
# A typed query must reach this relevance for a reply to be listed at all.
MIN_QUERY_SCORE = 0.3


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is searching: scope filters use the rep's userid and departments."""

    userid: str
    department_ids: tuple[str, ...] = ()

    def can_see(self, reply: QuickReply) -> bool:
        """Corp replies for all, department ones for members, personal ones for their owner."""
        if reply.scope == "corp":
            return True
        if reply.scope == "department":
            return reply.owner in self.department_ids
        return reply.owner == self.userid


@dataclass(frozen=True, slots=True)
class QuickReplyHit:
    """A quick reply and how well it fits."""

    reply: QuickReply
    score: float


def _bigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for chunk in text.split():
        grams.update(chunk[i : i + 2] for i in range(len(chunk) - 1))
        if len(chunk) == 1:
            grams.add(chunk)
    return grams


@dataclass(frozen=True, slots=True)
class _Doc:
    reply: QuickReply
    title: str
    body: str
    grams: frozenset[str]


class QuickReplySearch:
    """An immutable search over quick replies; a few hundred replies are scanned directly."""

    def __init__(self, replies: Iterable[QuickReply]) -> None:
        self._docs: list[_Doc] = []
        df: Counter[str] = Counter()
        for reply in replies:
            title, body = textmod.normalize(reply.title), textmod.normalize(reply.content)
            grams = frozenset(_bigrams(f"{title} {body}"))
            df.update(grams)
            self._docs.append(_Doc(reply, title, body, grams))
        n = max(len(self._docs), 1)
        self._idf = {g: math.log(1 + n / c) for g, c in df.items()}
        self._default_idf = math.log(1 + n)

    @classmethod
    def build(cls, replies: Iterable[QuickReply]) -> QuickReplySearch:
        """A search over these replies."""
        return cls(replies)

    def search(
        self, query: str = "", *, viewer: Viewer, last_message: str = "", limit: int = 10
    ) -> list[QuickReplyHit]:
        """Replies the viewer may use, ranked by the typed query and the customer's message."""
        typed = textmod.normalize(query.lstrip("/"))
        context = _bigrams(textmod.normalize(last_message))
        hits: list[tuple[float, int, QuickReply]] = []
        for pos, doc in enumerate(self._docs):
            if not viewer.can_see(doc.reply):
                continue
            q_score = self._query_score(typed, doc) if typed else 0.0
            if typed and q_score < MIN_QUERY_SCORE:
                continue
            c_score = self._context_score(context, doc) if context else 0.0
            score = (1 - CONTEXT_WEIGHT) * q_score + CONTEXT_WEIGHT * c_score if typed else c_score
            hits.append((score, pos, doc.reply))
        hits.sort(key=lambda h: (-h[0], h[1]))
        return [QuickReplyHit(reply, round(score, 4)) for score, _, reply in hits[:limit]]

    def _query_score(self, typed: str, doc: _Doc) -> float:
        """1 for an exact shortcut, then prefix shortcut, title, and content matches."""
        if doc.reply.shortcut:
            key = doc.reply.shortcut.lstrip("/").lower()
            if typed == key:
                return 1.0
            if key.startswith(typed):
                return 0.95
        if typed in doc.title:
            return 0.9
        title = fuzz.partial_ratio(typed, doc.title) / 100 * 0.8
        body = 0.7 if typed in doc.body else fuzz.partial_ratio(typed, doc.body) / 100 * 0.6
        return max(title, body)

    def _context_score(self, context: set[str], doc: _Doc) -> float:
        """The idf-weighted share of the customer's bigrams found in the reply."""
        total = sum(self._idf.get(g, self._default_idf) for g in context)
        found = sum(self._idf[g] for g in context & doc.grams)
        return found / total if total else 0.0
