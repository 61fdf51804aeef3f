"""Knowledge-base model: FAQ entries, quick replies, keyword rules and synonyms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

AttachmentKind = Literal["link", "image", "miniprogram"]
Scope = Literal["corp", "department", "personal"]

ATTACHMENT_KINDS: tuple[AttachmentKind, ...] = ("link", "image", "miniprogram")
SCOPES: tuple[Scope, ...] = ("corp", "department", "personal")


@dataclass(frozen=True, slots=True)
class Attachment:
    """An optional rich part of an answer: a link card, an image or a mini-program."""

    kind: AttachmentKind
    title: str = ""
    url: str = ""
    pic_url: str = ""
    desc: str = ""
    appid: str = ""
    page: str = ""
    media_id: str = ""


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ entry; its similar questions count as the entry when matching."""

    id: str
    question: str
    similar: tuple[str, ...] = ()
    answer: str = ""
    attachment: Attachment | None = None
    keywords: tuple[str, ...] = ()
    category: str = ""
    enabled: bool = True

    @property
    def questions(self) -> tuple[str, ...]:
        """The standard question followed by the similar ones."""
        return (self.question, *self.similar)

    def with_similar(self, question: str) -> FaqEntry:
        """A copy with one more similar question (unchanged if already present)."""
        if question in self.questions:
            return self
        return replace(self, similar=(*self.similar, question))


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A canned reply (话术) a rep can send; scope decides who sees it."""

    id: str
    title: str
    content: str
    category: str = ""
    scope: Scope = "corp"
    # Department id for scope "department", userid for "personal", None for "corp".
    owner: str | None = None
    shortcut: str | None = None


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """Phrases that, when a customer says them, trigger actions for the rep."""

    id: str
    name: str
    phrases: tuple[str, ...]
    tags: tuple[str, ...] = ()
    special_care: bool = False
    caution: str = ""
    notify: bool = False
    escalate: bool = False
    priority: int = 0
    # Exclusions (排除词): when the text holds one of these, the rule does not fire at all
    # ("过敏原检测" for a rule on "过敏"). Grammatical negation ("不过敏") needs none.
    negations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Synonyms:
    """Synonym table: canonical word -> variants that mean the same."""

    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def variant_map(self) -> dict[str, str]:
        """Every variant (and canonical) -> its canonical form."""
        mapping: dict[str, str] = {}
        for canonical, variants in self.groups.items():
            mapping.setdefault(canonical, canonical)
            for variant in variants:
                mapping.setdefault(variant, canonical)
        return mapping

    def merged(self, other: Synonyms) -> Synonyms:
        """A table with the groups of both; variants of shared canonicals are unioned."""
        groups: dict[str, tuple[str, ...]] = dict(self.groups)
        for canonical, variants in other.groups.items():
            current = groups.get(canonical, ())
            groups[canonical] = current + tuple(v for v in variants if v not in current)
        return Synonyms(groups)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything the knowledge engine serves, as one immutable value."""

    entries: tuple[FaqEntry, ...] = ()
    quick_replies: tuple[QuickReply, ...] = ()
    rules: tuple[KeywordRule, ...] = ()
    synonyms: Synonyms = field(default_factory=Synonyms)

    def entry(self, entry_id: str) -> FaqEntry | None:
        """The entry with this id, or None."""
        return next((e for e in self.entries if e.id == entry_id), None)

    def with_similar(self, entry_id: str, question: str) -> KnowledgeBase:
        """A copy where one entry has one more similar question."""
        entries = tuple(e.with_similar(question) if e.id == entry_id else e for e in self.entries)
        return replace(self, entries=entries)
