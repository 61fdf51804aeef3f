from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from knowledge import io
from knowledge.errors import ImportValidationError, KnowledgeError
from knowledge.model import KnowledgeBase


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
        ("faq.csv", 3, "enabled"), ("faq.csv", 3, "id"),
        ("faq.csv", 4, "answer"), ("faq.csv", 4, "attachment_kind"), ("faq.csv", 4, "id"),
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
        ("kb.yaml:quick_replies", 1, "owner"), ("kb.yaml:rules", 1, "priority"),
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
