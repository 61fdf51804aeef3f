from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from knowledge import io
from knowledge.errors import ImportValidationError, KnowledgeError
from knowledge.model import FaqEntry, KnowledgeBase


@pytest.mark.parametrize("suffix", [".yaml", ".xlsx"])
def test_full_round_trip(tmp_path: Path, kb: KnowledgeBase, suffix: str) -> None:
    path = tmp_path / f"kb{suffix}"
    io.write_kb(path, kb)
    assert io.read_kb(path) == kb


@pytest.mark.parametrize("section", ["entries", "quick_replies", "rules", "synonyms"])
def test_csv_round_trip_per_section(tmp_path: Path, kb: KnowledgeBase, section: str) -> None:
    path = tmp_path / f"{section}.csv"
    io.write_kb(path, kb, section=section)
    sections = io.read_sections(path)
    assert list(sections) == [section]
    assert io.merge(kb, sections) == kb


def test_eval_format_csv_reads_as_entries(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text("id,question,answer\nA1,怎么退款,见售后页\n", encoding="utf-8")
    (entry,) = io.read_kb(path).entries
    assert (entry.id, entry.question, entry.answer) == ("A1", "怎么退款", "见售后页")
    assert entry.enabled


def _errors(path: Path) -> list[tuple[str, int, str]]:
    with pytest.raises(ImportValidationError) as caught:
        io.read_sections(path)
    return [(e.file, e.row, e.column) for e in caught.value.errors]


def test_csv_errors_name_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        "id,question,answer,enabled,attachment_kind\n"
        "a,问题一,答案一,true,\n"
        ",问题二,答案二,maybe,\n"  # row 3: missing id, bad boolean
        "a,问题三,,,video\n",  # row 4: duplicate id, missing answer, bad kind
        encoding="utf-8",
    )
    assert sorted(_errors(path)) == [
        ("faq.csv", 3, "enabled"),
        ("faq.csv", 3, "id"),
        ("faq.csv", 4, "answer"),
        ("faq.csv", 4, "attachment_kind"),
        ("faq.csv", 4, "id"),
    ]


def test_yaml_errors_name_section_item_and_field(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(
        "quick_replies:\n"
        "  - {id: q1, title: 标题, content: 内容, scope: department}\n"
        "rules:\n"
        "  - {id: r1, name: 规则, phrases: [过敏], priority: high}\n",
        encoding="utf-8",
    )
    assert _errors(path) == [
        ("kb.yaml:quick_replies", 1, "owner"),
        ("kb.yaml:rules", 1, "priority"),
    ]


def test_xlsx_errors_name_sheet_row_and_column(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "kb.xlsx"
    io.write_kb(path, kb)
    workbook = openpyxl.load_workbook(path)
    workbook["rules"]["C3"] = ""  # phrases of the second rule
    workbook.save(path)
    assert _errors(path) == [("kb.xlsx:rules", 3, "phrases")]


def test_unknown_format_and_header(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError):
        io.read_sections(tmp_path / "kb.json")
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    assert _errors(path) == [("x.csv", 1, "")]


def test_blank_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text("id,question,answer\n,,\nA1,问,答\n", encoding="utf-8")
    assert len(io.read_kb(path).entries) == 1


# The admin's spreadsheet habits (fixtures written here; a made-up tea shop).


def test_csv_saved_by_chinese_windows_excel_is_gbk(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_bytes(
        "id,question,similar,answer\r\nA1,怎么退款,如何退款|退钱,见售后页\r\n".encode("gbk")
    )
    (entry,) = io.read_kb(path).entries
    assert (entry.question, entry.similar) == ("怎么退款", ("如何退款", "退钱"))


def test_csv_utf8_with_bom_and_capitalised_header(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_bytes("ID ,Question,Answer\r\nA1, 怎么退款 ,见售后页\r\n".encode("utf-8-sig"))
    (entry,) = io.read_kb(path).entries
    assert (entry.id, entry.question) == ("A1", "怎么退款")


def test_unreadable_bytes_are_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_bytes(b"id,question,answer\n\xff\xfe\xff,\x80\x80,x\n")
    assert _errors(path) == [("faq.csv", 0, "")]


def test_misspelled_column_is_an_error_not_silently_dropped(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("id,question,similiar,answer\nA1,怎么退款,如何退款,见售后页\n", "utf-8")
    with pytest.raises(ImportValidationError) as caught:
        io.read_sections(path)
    (error,) = caught.value.errors
    assert (error.row, error.column) == (1, "similiar")
    assert "是不是想写 'similar'" in error.message


def test_missing_required_column_is_one_header_error(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("id,question\nA1,怎么退款\nA2,怎么发货\n", "utf-8")
    assert _errors(path) == [("faq.csv", 1, "answer")]


def test_row_with_more_cells_than_header(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("id,question,answer\nA1,怎么退款,见售后页,多出来的\n", "utf-8")
    assert _errors(path) == [("faq.csv", 2, "")]


def test_unknown_yaml_field(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text("rules:\n  - {id: r1, name: 规则, phrases: [过敏], notfy: true}\n", "utf-8")
    assert _errors(path) == [("kb.yaml:rules", 1, "notfy")]


def test_xlsx_without_a_known_sheet_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "FAQ"
    sheet.append(["id", "question", "answer"])
    sheet.append(["A1", "怎么退款", "见售后页"])
    workbook.save(path)
    assert _errors(path) == [("kb.xlsx", 0, "")]


def _sheet(path: Path, title: str, *rows: list[object]) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def test_xlsx_cells_as_an_admin_types_them(tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    _sheet(
        path,
        "Entries",
        ["id", "question", "similar", "answer", "keywords", "enabled"],
        [" t1 ", " 绿茶怎么泡 ", "绿茶水温多少\n绿茶能用开水吗", "80度左右。", "绿茶、水温", "是"],
        ["t2", "可以开发票吗", "能开专票吗；电子发票怎么开", "可以。", "发票,专票", 0],
        [101, 202, "", 3.5, "", None],
    )
    e1, e2, e3 = io.read_kb(path).entries
    assert (e1.id, e1.question) == ("t1", "绿茶怎么泡")
    assert e1.similar == ("绿茶水温多少", "绿茶能用开水吗")
    assert e1.keywords == ("绿茶", "水温")
    assert e2.similar == ("能开专票吗", "电子发票怎么开")
    assert e2.keywords == ("发票", "专票")
    assert not e2.enabled
    assert (e3.id, e3.question, e3.answer, e3.enabled) == ("101", "202", "3.5", True)


def test_similar_questions_keep_their_enumeration_comma(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        "id,question,similar,answer\nA1,红茶绿茶哪个好,红茶、绿茶选哪个,看口味\n", "utf-8"
    )
    (entry,) = io.read_kb(path).entries
    assert entry.similar == ("红茶、绿茶选哪个",)


def test_xlsx_typed_values_scope_case_and_float_priority(tmp_path: Path) -> None:
    path = tmp_path / "kb.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    replies = workbook.create_sheet("quick_replies")
    replies.append(["id", "title", "content", "scope", "owner"])
    replies.append(["q1", "问候", "您好", "Corp", None])
    replies.append(["q2", "问候", "您好", "个人", None])
    rules = workbook.create_sheet("rules")
    rules.append(["id", "name", "phrases", "priority", "special_care"])
    rules.append(["r1", "投诉", "投诉、差评", 5.0, 1])
    workbook.save(path)
    with pytest.raises(ImportValidationError) as caught:
        io.read_sections(path)
    (error,) = caught.value.errors
    assert (error.file, error.row, error.column) == ("kb.xlsx:quick_replies", 3, "scope")
    assert "'个人'" in error.message
    assert "corp、department、personal" in error.message


def test_ids_longer_than_the_database_column(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(f"id,question,answer\n{'x' * 65},问题,答案\n", "utf-8")
    assert _errors(path) == [("faq.csv", 2, "id")]


def test_xlsx_progress_bar_while_reading_large_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(io, "PROGRESS_MIN_ROWS", 3)
    path = tmp_path / "kb.xlsx"
    _sheet(
        path,
        "entries",
        ["id", "question", "answer"],
        *([f"e{i}", f"问题{i}", "答案"] for i in range(5)),
    )
    assert len(io.read_kb(path, progress=True).entries) == 5
    assert "entries: reading" in capsys.readouterr().err


def test_exported_workbook_keeps_header_in_view_and_priority_numeric(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    path = tmp_path / "kb.xlsx"
    io.write_kb(path, kb)
    workbook = openpyxl.load_workbook(path)
    rules = workbook["rules"]
    assert rules.freeze_panes == "A2"
    priority = [c.value for c in rules[1]].index("priority") + 1
    assert all(isinstance(rules.cell(r, priority).value, int) for r in range(2, rules.max_row + 1))


def test_csv_export_has_a_bom_so_excel_reads_utf8(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = tmp_path / "entries.csv"
    io.write_kb(path, kb)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfid,question,")
    assert io.read_kb(path).entries == kb.entries


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_similar_question_with_a_separator_stays_one_question(tmp_path: Path, suffix: str) -> None:
    from knowledge.model import FaqEntry

    entry = FaqEntry(
        id="ship",
        question="几点发货",
        answer="下午四点前。",
        similar=("你好；几点发货", "第一行\n第二行", "a|b"),
    )
    path = tmp_path / f"kb{suffix}"
    io.write_kb(path, KnowledgeBase(entries=(entry,)))
    (back,) = io.read_kb(path).entries
    assert back.similar == ("你好 几点发货", "第一行 第二行", "a b")
    again = tmp_path / f"again{suffix}"
    io.write_kb(again, KnowledgeBase(entries=(back,)))
    assert io.read_kb(again).entries == (back,)


def test_xlsx_export_keeps_text_that_looks_like_a_formula(tmp_path: Path) -> None:
    # A customer's wording (accepted as a similar question) or an answer may start with "=":
    # written as a formula it would run in the admin's Excel (=HYPERLINK, =WEBSERVICE) and
    # read back empty (no cached value), so the exported workbook could not be re-imported.
    kb = KnowledgeBase(entries=(FaqEntry(
        id="f1", question="=1+1 是多少", similar=('=HYPERLINK("http://evil","点我")',),
        answer="=cmd|' /C calc'!A0", keywords=("+86",),
    ),))  # fmt: skip
    path = tmp_path / "kb.xlsx"
    io.write_kb(path, kb)
    sheet = openpyxl.load_workbook(path)["entries"]
    assert "f" not in {cell.data_type for row in sheet.iter_rows(min_row=2) for cell in row}
    assert io.read_kb(path).entries == kb.entries


def test_yaml_references_are_refused(tmp_path: Path) -> None:
    # An alias is expanded wherever it is read: nine nested lists of nine aliases (a 1 KB
    # upload) read as 9**9 similar questions and kept a worker thread busy until memory ran out.
    path = tmp_path / "kb.yaml"
    path.write_text(
        "entries:\n- id: e1\n  question: q\n  answer: a\n  similar: &s [问法一, 问法二]\n"
        "- id: e2\n  question: q2\n  answer: a\n  similar: *s\n",
        "utf-8",
    )
    with pytest.raises(ImportValidationError) as caught:
        io.read_sections(path)
    [error] = caught.value.errors
    assert "不支持引用" in error.message
    assert error.row == 0
