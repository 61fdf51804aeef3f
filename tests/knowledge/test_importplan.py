"""What an import would do, counted before it is done: merge vs replace, by id."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from knowledge import cli, importplan, io
from knowledge.model import FaqEntry, KnowledgeBase, Synonyms


def _file(kb: KnowledgeBase) -> io.Sections:
    """A one-section file: one new entry, "ship" edited and missing a similar question,
    "track" as stored; every other stored entry is absent from it."""
    ship = replace(kb.entries[0], answer="当天发货。", similar=("什么时候寄出",))
    return {"entries": [FaqEntry(id="new-1", question="有没有试喝装"), ship, kb.entries[1]]}


def test_plan_counts_added_changed_unchanged_and_absent_by_id(kb: KnowledgeBase) -> None:
    [entries] = importplan.plan(kb, _file(kb))
    assert entries.added == ("new-1",)
    assert entries.changed == ("ship",)
    assert entries.unchanged == 1
    assert [i.id for i in entries.absent] == [e.id for e in kb.entries[2:]]
    assert entries.absent[0].label == kb.entries[2].question
    # Replace loses the absent entries' similar questions and ship's dropped one; merge only
    # the dropped one (the file's version of ship wins either way).
    assert ("ship", "几天能发出去") in entries.dropped_similar
    assert entries.lost_similar("merge") == (("ship", "几天能发出去"),)
    absent_similar = sum(len(e.similar) for e in kb.entries[2:])
    assert len(entries.lost_similar("replace")) == absent_similar + 1
    assert entries.removed("replace") == len(kb.entries) - 2
    assert entries.removed("merge") == 0


def test_merge_keeps_what_the_file_lacks_and_replace_removes_it(kb: KnowledgeBase) -> None:
    sections = _file(kb)
    merged = importplan.apply(kb, sections, "merge")
    assert [e.id for e in merged.entries] == [*(e.id for e in kb.entries), "new-1"]
    assert merged.entry("ship") == sections["entries"][1]
    assert merged.rules == kb.rules
    assert merged.quick_replies == kb.quick_replies
    replaced = importplan.apply(kb, sections, "replace")
    assert [e.id for e in replaced.entries] == ["new-1", "ship", "track"]
    assert replaced == io.merge(kb, sections)  # the historical import, unchanged


def test_synonym_groups_are_items_keyed_by_their_standard_word(kb: KnowledgeBase) -> None:
    sections: io.Sections = {"synonyms": [("红茶", ("祁门",))]}
    [plan] = importplan.plan(kb, sections)
    assert plan.added == ("红茶",)
    assert [i.id for i in plan.absent] == ["乌龙茶"]
    merged = importplan.apply(kb, sections, "merge")
    assert merged.synonyms == Synonyms({"乌龙茶": ("乌龙", "青茶"), "红茶": ("祁门",)})


def test_the_fingerprint_follows_the_named_sections_only(kb: KnowledgeBase) -> None:
    before = importplan.fingerprint(kb, ["entries"])
    with_similar = kb.with_similar("track", "快递到哪了")
    assert importplan.fingerprint(with_similar, ["entries"]) != before
    other = replace(kb, rules=kb.rules[:1])
    assert importplan.fingerprint(other, ["entries"]) == before
    assert importplan.fingerprint(other, ["entries", "rules"]) != importplan.fingerprint(
        kb, ["entries", "rules"]
    )


def test_the_cli_says_what_it_replaced(
    tmp_path: Path, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    io.write_kb(tmp_path / "all.yaml", kb)
    assert cli.main(["import", str(tmp_path / "all.yaml"), "--db", db, "--create-tables"]) == 0
    capsys.readouterr()
    small = tmp_path / "one.csv"
    small.write_text("id,question,answer\nnew-1,有没有试喝装,有的。\n", "utf-8")
    assert cli.main(["import", str(small), "--db", db]) == 0
    out = capsys.readouterr().out
    removed = len(kb.entries)
    similar = sum(len(e.similar) for e in kb.entries)
    assert f"entries: 1 in the file; added 1, changed 0, unchanged 0, removed {removed}" in out
    assert f"{similar} stored similar question(s) dropped" in out
    # The CLI still replaces the section (its behaviour is unchanged).
    exported = tmp_path / "out.yaml"
    assert cli.main(["export", str(exported), "--db", db]) == 0
    assert [e.id for e in io.read_kb(exported).entries] == ["new-1"]
