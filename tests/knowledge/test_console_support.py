"""What the console's knowledge pages rest on: rule exclusions (stored, imported, exported),
the rule trace, the matcher's channel split, form validation and row edits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.core.errors import UsageError
from bot.domain import kb_admin, kb_forms
from knowledge import io, store, store_edit
from knowledge.index import KnowledgeIndex
from knowledge.model import FaqEntry, KeywordRule, KnowledgeBase
from knowledge.rules import RuleEngine

ALLERGY = KeywordRule(id="a", name="过敏", phrases=("过敏",), tags=("过敏体质",),
                      negations=("过敏原检测",))  # fmt: skip


def test_an_exclusion_stops_the_rule_and_the_trace_says_why() -> None:
    engine = RuleEngine.build([ALLERGY])
    assert engine.scan("用了过敏了").hits
    assert not engine.scan("想做个过敏原检测").hits
    traced = engine.trace("我不过敏，想做过敏原检测")
    assert [(t.phrase, t.span, t.status) for t in traced] == [
        ("过敏", (2, 4), "negated"), ("过敏", (7, 9), "excluded"),
    ]  # fmt: skip
    assert traced[1].by == (7, 12)


@pytest.mark.parametrize("suffix", [".csv", ".yaml", ".xlsx"])
def test_exclusions_survive_export_and_import(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"kb{suffix}"
    io.write_kb(path, KnowledgeBase(rules=(ALLERGY,)), section="rules")
    assert io.read_kb(path).rules == (ALLERGY,)


@pytest.mark.parametrize("name", ["not-a-zip", "no-workbook-part", "broken-xml"])
def test_a_broken_xlsx_upload_is_a_chinese_error_not_a_500(tmp_path: Path, name: str) -> None:
    # openpyxl raises BadZipFile, OSError or an XML ParseError on these: the uploader's problem.
    path = tmp_path / "f.xlsx"
    if name == "not-a-zip":
        path.write_bytes(b"PK garbage")
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("[Content_Types].xml", _TYPES if name == "broken-xml" else "<x/>")
            z.writestr("xl/workbook.xml", "<bad")
    with pytest.raises(UsageError, match="不是有效的 Excel"):
        kb_admin.read_upload("f.xlsx", path.read_bytes())


_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)


def test_channels_add_up_to_the_score() -> None:
    entries = [FaqEntry(id="i", question="怎么开发票", answer="a"),
               FaqEntry(id="r", question="怎么申请退款", answer="b")]  # fmt: skip
    for match, parts in KnowledgeIndex.build(entries).explain("发票怎么开"):
        assert parts.chars + parts.words + parts.fuzzy == pytest.approx(match.score, abs=1e-3)


def test_forms_refuse_bad_input_in_chinese() -> None:
    with pytest.raises(UsageError, match="http"):
        kb_forms.entry({"question": "q", "answer": "a", "attachment_kind": "link",
                        "attachment_title": "t", "attachment_url": "javascript:alert(1)"}, "x")
    with pytest.raises(UsageError, match="动作"):
        kb_forms.rule({"name": "n", "phrases": "p"}, "x")
    with pytest.raises(UsageError, match="编号"):
        kb_forms.new_id({"id": "new"}, "faq")
    assert kb_forms.synonyms("发票：开票、票据").groups == {"发票": ("开票", "票据")}


async def test_row_edits_bump_the_revision(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'kb.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(store.KBBase.metadata.create_all)
    async with async_sessionmaker(engine).begin() as db:
        entry = FaqEntry(id="e1", question="q", similar=("s1",), answer="a")
        await store_edit.save_entry(db, entry)
        await store_edit.save_rule(db, ALLERGY)
        kb = await store.load_kb(db)
        assert kb.entry("e1") == entry
        assert kb.rules == (ALLERGY,)
        assert await store_edit.delete_entry(db, "e1")
        assert not await store_edit.delete_entry(db, "e1")
        assert await store.revision(db) == 3
    await engine.dispose()


@pytest.mark.parametrize("name", ["商品FAQ.csv", "dir/../商品FAQ.csv"])
def test_upload_problems_name_the_admins_own_file(name: str) -> None:
    data = "id,question,answer\na1,q1,答\na1,q2,答\n".encode()
    with pytest.raises(UsageError) as raised:
        kb_admin.read_upload(name, data)
    assert "商品FAQ.csv 第 3 行 id 列" in raised.value.message
    assert "upload" not in raised.value.message
