"""What importing a file would do to the stored KB, section by section, before it is done.

An import either replaces each section the file holds ("replace": items the file lacks are
removed, the historical behaviour) or only adds and updates by id ("merge": items the file lacks
are kept). `plan` counts both at once (they differ only in what happens to the items the file
lacks), `apply` builds the resulting KB, and `fingerprint` identifies the stored content a plan
was made against, so a confirmation can refuse when the KB changed in between.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from knowledge import text as textmod
from knowledge.io import Sections, merge
from knowledge.model import FaqEntry, KnowledgeBase, Synonyms

Mode = Literal["merge", "replace"]
MODES: tuple[Mode, ...] = ("merge", "replace")
# Section order in previews and reports (the order of the console's export choices).
SECTION_ORDER = ("entries", "quick_replies", "rules", "synonyms")


@dataclass(frozen=True, slots=True)
class Item:
    """A stored item named in a preview: its id and its question, title or name."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class SectionPlan:
    """One section of the file against the stored one, matched by id."""

    section: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    # Stored items the file lacks: removed by "replace", kept by "merge".
    absent: tuple[Item, ...]
    # (entry id, question): similar questions of absent entries (lost by "replace" only).
    absent_similar: tuple[tuple[str, str], ...] = ()
    # (entry id, question): similar questions a changed entry loses (its file row lacks them).
    dropped_similar: tuple[tuple[str, str], ...] = ()

    @property
    def in_file(self) -> int:
        """Items of this section in the file."""
        return len(self.added) + len(self.changed) + self.unchanged

    def removed(self, mode: Mode) -> int:
        """Stored items this mode deletes."""
        return len(self.absent) if mode == "replace" else 0

    def lost_similar(self, mode: Mode) -> tuple[tuple[str, str], ...]:
        """(entry id, question) of every stored similar question this mode loses."""
        if mode == "replace":
            return self.absent_similar + self.dropped_similar
        return self.dropped_similar


# The sections whose items carry an id (synonyms are keyed by their standard word).
ID_SECTIONS = ("entries", "quick_replies", "rules")


def _stored(kb: KnowledgeBase, section: str) -> Any:
    return kb.synonyms.groups if section == "synonyms" else getattr(kb, section)


def _keyed(section: str, value: Any) -> dict[str, Any]:
    """A section's items (stored or from the file) by id, or synonym groups by word."""
    if section == "synonyms":
        return dict(value)
    return {item.id: item for item in value}


def _label(item: Any) -> str:
    if isinstance(item, FaqEntry):
        return item.question
    if isinstance(item, tuple):  # a synonym group: its variants
        return "、".join(item)
    return str(getattr(item, "title", "") or getattr(item, "name", ""))


def _similar_missing(stored: FaqEntry, new: FaqEntry) -> list[tuple[str, str]]:
    # Punctuation, width and case variants are the same question (as when reps add one).
    kept = {textmod.normalize(q) for q in new.questions}
    return [(stored.id, q) for q in stored.similar if textmod.normalize(q) not in kept]


def _section(current: KnowledgeBase, sections: Sections, section: str) -> SectionPlan:
    stored = _keyed(section, _stored(current, section))
    incoming = _keyed(section, sections[section])
    added = tuple(k for k in incoming if k not in stored)
    changed = tuple(k for k in incoming if k in stored and incoming[k] != stored[k])
    absent = tuple(Item(k, _label(v)) for k, v in stored.items() if k not in incoming)
    absent_similar: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    if section == "entries":
        absent_similar = [(k, q) for k, v in stored.items() if k not in incoming
                          for q in v.similar]  # fmt: skip
        for key in changed:
            dropped.extend(_similar_missing(stored[key], incoming[key]))
    return SectionPlan(
        section=section, added=added, changed=changed,
        unchanged=len(incoming) - len(added) - len(changed), absent=absent,
        absent_similar=tuple(absent_similar), dropped_similar=tuple(dropped),
    )  # fmt: skip


def plan(current: KnowledgeBase, sections: Sections) -> list[SectionPlan]:
    """Per section the file holds: added, changed, unchanged and absent items, by id."""
    return [_section(current, sections, name) for name in SECTION_ORDER if name in sections]


def _upsert(stored: Sequence[Any], incoming: Sequence[Any]) -> tuple[Any, ...]:
    """Stored items in their order with the file's versions swapped in, then the new ones."""
    by_id = {item.id: item for item in incoming}
    known = {item.id for item in stored}
    return (*(by_id.get(item.id, item) for item in stored),
            *(item for item in incoming if item.id not in known))  # fmt: skip


def apply(current: KnowledgeBase, sections: Sections, mode: Mode) -> KnowledgeBase:
    """The KB after the import: "replace" swaps whole sections, "merge" upserts by id."""
    if mode == "replace":
        return merge(current, sections)
    upserted: dict[str, Any] = {name: _upsert(getattr(current, name), sections[name])
                                for name in ID_SECTIONS if name in sections}  # fmt: skip
    kb = replace(current, **upserted)
    if "synonyms" in sections:
        # A group in the file replaces the stored group of the same standard word.
        kb = replace(kb, synonyms=Synonyms({**kb.synonyms.groups, **dict(sections["synonyms"])}))
    return kb


def fingerprint(kb: KnowledgeBase, names: Sequence[str]) -> str:
    """A digest of the named sections' stored content (order included)."""
    digest = hashlib.sha256()
    for name in sorted(names):
        value = _stored(kb, name)
        if name == "synonyms":
            value = sorted(value.items())
        digest.update(f"{name}\0{value!r}\0".encode())
    return digest.hexdigest()


def describe(plans: Sequence[SectionPlan], mode: Mode) -> str:
    """One line per section for the CLI: what the import added, changed, removed and kept."""
    lines = []
    for p in plans:
        kept = len(p.absent) - p.removed(mode)
        line = (f"{p.section}: {p.in_file} in the file; added {len(p.added)}, changed "
                f"{len(p.changed)}, unchanged {p.unchanged}, removed {p.removed(mode)}"
                f"{f', kept {kept} not in the file' if kept else ''}")  # fmt: skip
        lost = len(p.lost_similar(mode))
        if lost:
            line += f"; {lost} stored similar question(s) dropped"
        lines.append(line)
    return "\n".join(lines)
