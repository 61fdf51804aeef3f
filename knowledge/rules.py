"""Keyword rules: one Aho-Corasick automaton, negation-aware, overlaps resolved by priority."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from knowledge import text as textmod
from knowledge.model import KeywordRule

# A negator right before a phrase (optionally followed by a linking word) cancels it:
# 不过敏, 没有过敏, 不是过敏, 不会过敏, 并没有过敏.
_NEGATED = re.compile(
    r"(?:不|没|没有|无|未|并非|不是|并不|并没有|从不|从没|从来没有|绝不|毫无|非)"
    r"(?:是|会|太|怎么|曾|有|再|算|觉得|感觉|担心)?$"
)
# "A不A" / "A没A" is a question, not a negation: 会不会过敏, 是不是过敏, 有没有过敏.
_A_NOT_A = re.compile(r"(.)(?:不|没)\1$")
# Negation never reaches across a clause boundary.
_CLAUSE = re.compile(r"[,.!?;:，。！？；：、\s]")
_WINDOW = 6


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One phrase of one rule found in the text; span indexes the original text."""

    rule: KeywordRule
    phrase: str
    span: tuple[int, int]


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The hits of a scan and the merged actions they ask for."""

    hits: tuple[RuleHit, ...] = ()
    tags: tuple[str, ...] = ()
    special_care: bool = False
    cautions: tuple[str, ...] = ()
    notify: bool = False
    escalate: bool = False

    def __bool__(self) -> bool:
        return bool(self.hits)


def _fold(text: str) -> str:
    """Width, case and script folding that keeps one character per input character."""
    folded = []
    for char in text:
        norm = unicodedata.normalize("NFKC", char).lower()
        folded.append(norm if len(norm) == 1 else char)
    plain = "".join(folded)
    simplified = textmod.to_simplified(plain)
    # Phrase-level conversions may change length; spans must stay valid, so fall back.
    return simplified if len(simplified) == len(plain) else plain


def is_negated(text: str, start: int) -> bool:
    """Whether the phrase starting at `start` is negated by the words right before it."""
    before = text[max(0, start - _WINDOW) : start]
    clause = _CLAUSE.split(before)[-1]
    if _A_NOT_A.search(clause):
        return False
    return _NEGATED.search(clause) is not None


@dataclass(frozen=True, slots=True)
class PhraseTrace:
    """One occurrence of a rule phrase and what became of it (the console's rule test).

    status: "hit" (the rule fires on it), "negated" (a negator right before it), "excluded"
    (the text holds one of the rule's exclusions, at `by`), "overridden" (an overlapping
    phrase of a higher-priority rule won, or the rule already fired elsewhere).
    """

    rule: KeywordRule
    phrase: str
    span: tuple[int, int]
    status: str
    by: tuple[int, int] | None = None


class RuleEngine:
    """All rule phrases in one automaton; scan() is pure and thread-safe."""

    def __init__(self, rules: Iterable[KeywordRule]) -> None:
        self._rules = tuple(rules)
        self._automaton: ahocorasick.Automaton | None = None
        phrases: dict[str, list[int]] = {}
        for pos, rule in enumerate(self._rules):
            for phrase in rule.phrases:
                key = _fold(phrase.strip())
                if key:
                    phrases.setdefault(key, []).append(pos)
        # Exclusions are matched as plain substrings of the folded text (few, short, rare).
        self._exclusions = {
            pos: tuple(k for k in (_fold(n.strip()) for n in rule.negations) if k)
            for pos, rule in enumerate(self._rules)
            if rule.negations
        }
        if phrases:
            automaton = ahocorasick.Automaton()
            for key, positions in phrases.items():
                automaton.add_word(key, (key, tuple(positions)))
            automaton.make_automaton()
            self._automaton = automaton

    @classmethod
    def build(cls, rules: Iterable[KeywordRule]) -> RuleEngine:
        """An engine for these rules."""
        return cls(rules)

    @property
    def rules(self) -> tuple[KeywordRule, ...]:
        """The rules, in the order given."""
        return self._rules

    def scan(self, text: str) -> RuleResult:
        """The rules the text fires, negated phrases and excluded rules left out, overlaps won
        by priority."""
        if self._automaton is None or not text:
            return RuleResult()
        folded = _fold(text)
        excluded = self._excluded(folded)
        found: list[RuleHit] = []
        for end, (phrase, positions) in self._automaton.iter(folded):
            start = end - len(phrase) + 1
            if is_negated(folded, start):
                continue
            for pos in positions:
                if pos not in excluded:
                    span = (start, end + 1)
                    found.append(RuleHit(self._rules[pos], text[start : end + 1], span))
        return _merge(_resolve(found))

    def _excluded(self, folded: str) -> dict[int, tuple[int, int]]:
        """Rule position -> the span of the first of its exclusions the text holds."""
        found: dict[int, tuple[int, int]] = {}
        for pos, keys in self._exclusions.items():
            for key in keys:
                at = folded.find(key)
                if at >= 0:
                    found[pos] = (at, at + len(key))
                    break
        return found

    def trace(self, text: str) -> list[PhraseTrace]:
        """Every rule phrase occurrence in the text with what became of it, by position."""
        if self._automaton is None or not text:
            return []
        folded = _fold(text)
        excluded = self._excluded(folded)
        traces: list[PhraseTrace] = []
        candidates: list[RuleHit] = []
        for end, (phrase, positions) in self._automaton.iter(folded):
            start = end - len(phrase) + 1
            span, negated = (start, end + 1), is_negated(folded, start)
            for pos in positions:
                rule, said = self._rules[pos], text[start : end + 1]
                if negated:
                    traces.append(PhraseTrace(rule, said, span, "negated"))
                elif pos in excluded:
                    traces.append(PhraseTrace(rule, said, span, "excluded", excluded[pos]))
                else:
                    candidates.append(RuleHit(rule, said, span))
        kept = {(h.rule.id, h.span) for h in _resolve(list(candidates))}
        traces += [
            PhraseTrace(h.rule, h.phrase, h.span,
                        "hit" if (h.rule.id, h.span) in kept else "overridden")
            for h in candidates
        ]  # fmt: skip
        return sorted(traces, key=lambda t: (t.span, t.rule.id))

    def _phrases(self, text: str) -> tuple[set[str], set[str]]:
        """The rule phrases in a text: (negated ones, plain ones)."""
        negated: set[str] = set()
        plain: set[str] = set()
        if self._automaton is None or not text:
            return negated, plain
        folded = _fold(text)
        for end, (phrase, _) in self._automaton.iter(folded):
            start = end - len(phrase) + 1
            (negated if is_negated(folded, start) else plain).add(phrase)
        return negated, plain

    def opposite(self, query: str, question: str) -> bool:
        """Whether one text negates a rule phrase the other states ("我不过敏" / "我过敏了")."""
        q_neg, q_plain = self._phrases(query)
        k_neg, k_plain = self._phrases(question)
        return bool((q_neg & (k_plain - k_neg)) or (k_neg & (q_plain - q_neg)))


def _resolve(found: list[RuleHit]) -> list[RuleHit]:
    """Keep the highest-priority (then longest) hit where spans overlap; one hit per rule."""
    found.sort(key=lambda h: (-h.rule.priority, -(h.span[1] - h.span[0]), h.span[0]))
    kept: list[RuleHit] = []
    for hit in found:
        overlaps = any(
            hit.span[0] < k.span[1] and k.span[0] < hit.span[1] and k.rule.id != hit.rule.id
            for k in kept
        )
        if not overlaps and all(k.rule.id != hit.rule.id for k in kept):
            kept.append(hit)
    return kept


def _merge(hits: list[RuleHit]) -> RuleResult:
    """Union of the actions of the hits, in priority order."""
    tags: list[str] = []
    cautions: list[str] = []
    for hit in hits:
        tags.extend(t for t in hit.rule.tags if t not in tags)
        if hit.rule.caution and hit.rule.caution not in cautions:
            cautions.append(hit.rule.caution)
    return RuleResult(
        hits=tuple(hits),
        tags=tuple(tags),
        special_care=any(h.rule.special_care for h in hits),
        cautions=tuple(cautions),
        notify=any(h.rule.notify for h in hits),
        escalate=any(h.rule.escalate for h in hits),
    )
