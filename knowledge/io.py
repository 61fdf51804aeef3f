"""Import and export of the knowledge base as CSV, YAML and XLSX."""

from __future__ import annotations

import csv
import difflib
import logging
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import openpyxl
import yaml
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from tqdm import tqdm

from knowledge import yamltext
from knowledge.errors import ImportValidationError, KnowledgeError, RowError, UnreadableFileError
from knowledge.model import KnowledgeBase, Synonyms
from knowledge.tables import TABLES, Row, parse_rows, to_row

logger = logging.getLogger(__name__)

FORMATS = (".csv", ".yaml", ".yml", ".xlsx")
# Files with more rows than this get a progress bar when `progress` is on.
PROGRESS_MIN_ROWS = 2000
Sections = dict[str, list[Any]]


def _progress(rows: list[tuple[int, Row]], label: str, enabled: bool) -> Iterable[tuple[int, Row]]:
    if not enabled or len(rows) < PROGRESS_MIN_ROWS:
        return rows
    bar: Iterable[tuple[int, Row]] = tqdm(rows, desc=f"{label}: checking", unit="row")
    return bar


def _expected_headers() -> str:
    return "; ".join(f"{t.name}: {', '.join(t.required)}" for t in TABLES.values())


def _detect_csv_table(header: list[str], file: str) -> str:
    """Which section a CSV holds, from its header."""
    columns = set(header)
    for name in ("rules", "quick_replies", "synonyms", "entries"):
        required = (
            {"phrases"}
            if name == "rules"
            else {"content"}
            if name == "quick_replies"
            else {"canonical"}
            if name == "synonyms"
            else {"id", "question"}
        )
        if required <= columns:
            return name
    raise ImportValidationError(
        [
            RowError(
                file,
                1,
                "",
                f"表头 {','.join(header)!r} 对不上任何一类内容；第一行须是列名，"
                f"至少包含（{_expected_headers()}）",
            )
        ]
    )


def _header(values: Iterable[Any]) -> list[str]:
    """Header cells trimmed and lower-cased ("ID " reads as "id")."""
    return ["" if h is None else str(h).strip().lower() for h in values]


def _check_header(table: str, file: str, header: list[str]) -> list[RowError]:
    """Unknown columns (a typo would silently drop data) and missing required ones."""
    known = TABLES[table].columns
    errors: list[RowError] = []
    for column in header:
        if column and column not in known:
            close = difflib.get_close_matches(column, known, n=1)
            hint = f"是不是想写 {close[0]!r}？" if close else ""
            errors.append(
                RowError(
                    file,
                    1,
                    column,
                    f"没有这一列；{hint}{table} 的列有：{'、'.join(known)}",
                )
            )
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            errors.append(RowError(file, 1, column, "表头里这一列出现了两次"))
        seen.add(column)
    errors.extend(
        RowError(file, 1, column, f"{table} 的表头缺少这一必填列")
        for column in TABLES[table].required
        if column not in header
    )
    return errors


def _decode(path: Path) -> str:
    """UTF-8 (with or without Excel's BOM), else GB18030 (GBK: Chinese Windows Excel's CSV)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportValidationError(
            [
                RowError(
                    path.name,
                    0,
                    "",
                    "无法读取文件：既不是 UTF-8 也不是 GBK 文本；"
                    "请在 Excel 里另存为“CSV UTF-8”",
                )
            ]
        ) from exc


def _read_csv(path: Path) -> dict[str, list[tuple[int, Row]]]:
    reader = csv.reader(StringIO(_decode(path), newline=""))
    header = _header(next(reader, []))
    table = _detect_csv_table(header, path.name)
    errors = _check_header(table, path.name, header)
    rows: list[tuple[int, Row]] = []
    for row_no, values in enumerate(reader, start=2):  # as a spreadsheet numbers rows
        if len(values) > len(header) and any(v.strip() for v in values[len(header) :]):
            errors.append(
                RowError(
                    path.name,
                    row_no,
                    "",
                    f"这一行有 {len(values)} 格，表头只有 {len(header)} 列"
                    "（单元格里有没加引号的逗号？）",
                )
            )
        rows.append((row_no, {h: v for h, v in zip(header, values, strict=False) if h}))
    if errors:
        raise ImportValidationError(errors)
    return {table: rows}


def _read_yaml(path: Path) -> dict[str, list[tuple[int, Row]]]:
    try:
        data = yamltext.load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ImportValidationError([RowError(path.name, 0, "", f"YAML 格式有误：{exc}")]) from exc
    if not isinstance(data, dict):
        raise ImportValidationError([RowError(path.name, 0, "", "顶层应是「分区名: 列表」")])
    sections: dict[str, list[tuple[int, Row]]] = {}
    errors: list[RowError] = []
    for name, items in data.items():
        if name not in TABLES:
            raise ImportValidationError(
                [
                    RowError(
                        path.name, 0, str(name), f"没有这个分区；可用的分区：{'、'.join(TABLES)}"
                    )
                ]
            )
        if name == "synonyms" and isinstance(items, dict):
            items = [{"canonical": k, "variants": v} for k, v in items.items()]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ImportValidationError([RowError(path.name, 0, name, "这个分区应是列表")])
        # YAML "rows" are item numbers within their section.
        sections[name] = [(n, _flatten(item)) for n, item in enumerate(items, start=1)]
        known = set(TABLES[name].columns)
        errors.extend(
            RowError(
                f"{path.name}:{name}",
                n,
                str(key),
                f"没有这个字段；{name} 的字段有：" + "、".join(TABLES[name].columns),
            )
            for n, item in sections[name]
            for key in item
            if key not in known
        )
    if errors:
        raise ImportValidationError(errors)
    return sections


def _flatten(item: dict[str, Any]) -> Row:
    """A YAML item with a nested `attachment` mapping as flat attachment_* columns."""
    attachment = item.get("attachment")
    if not isinstance(attachment, dict):
        return item
    flat = {k: v for k, v in item.items() if k != "attachment"}
    flat.update({f"attachment_{k}": v for k, v in attachment.items()})
    return flat


# What openpyxl raises on a file that is not a workbook (not a zip, parts missing, broken
# XML): an uploaded file is untrusted, so these are the uploader's problem, not ours.
_BROKEN_XLSX = (zipfile.BadZipFile, OSError, KeyError, ValueError, SyntaxError, EOFError)


def _read_xlsx(path: Path, progress: bool = False) -> dict[str, list[tuple[int, Row]]]:
    try:
        return _read_workbook(path, progress)
    except _BROKEN_XLSX as exc:
        raise UnreadableFileError(f"{path.name} is not a readable .xlsx workbook: {exc}") from None


def _read_workbook(path: Path, progress: bool) -> dict[str, list[tuple[int, Row]]]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sections: dict[str, list[tuple[int, Row]]] = {}
    errors: list[RowError] = []
    skipped: list[str] = []
    try:
        for sheet in workbook.worksheets:
            name = sheet.title.strip().lower()
            if name not in TABLES:
                skipped.append(sheet.title)
                continue
            rows: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
            header = _header(next(rows, ()))
            # Reading is the slow part of an XLSX import: the bar covers it.
            total = (sheet.max_row or 1) - 1
            if progress and total >= PROGRESS_MIN_ROWS:
                rows = iter(tqdm(rows, desc=f"{name}: reading", total=total, unit="row"))
            errors.extend(_check_header(name, f"{path.name}:{name}", header))
            sections[name] = [
                (n, {h: v for h, v in zip(header, values, strict=False) if h})
                for n, values in enumerate(rows, start=2)
            ]
    finally:
        workbook.close()
    if not sections:
        errors.append(
            RowError(
                path.name,
                0,
                "",
                f"没有名为 {'、'.join(TABLES)} 的工作表"
                f"（找到的是：{'、'.join(skipped) or '无'}）；工作表名决定它装的是哪类内容",
            )
        )
    if errors:
        raise ImportValidationError(errors)
    for title in skipped:
        logger.warning(
            "skipping sheet %r of %s: not one of %s", title, path.name, ", ".join(TABLES)
        )
    return sections


def read_sections(path: Path, *, progress: bool = False) -> Sections:
    """Parse a KB file into its sections; raises ImportValidationError listing every problem."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise KnowledgeError(f"不支持的文件类型 {suffix!r}；请用 {'、'.join(FORMATS)}")
    if suffix == ".xlsx":
        raw = _read_xlsx(path, progress)
        progress = False  # the reading bar was the one to watch
    else:
        raw = (_read_csv if suffix == ".csv" else _read_yaml)(path)
    errors: list[RowError] = []
    sections = {
        name: parse_rows(
            TABLES[name],
            f"{path.name}:{name}" if suffix != ".csv" else path.name,
            _progress(rows, name, progress),
            errors,
        )
        for name, rows in raw.items()
    }
    if errors:
        raise ImportValidationError(errors)
    return sections


def merge(current: KnowledgeBase, sections: Sections) -> KnowledgeBase:
    """The current KB with the sections present in a file replaced."""
    kb = current
    if "entries" in sections:
        kb = replace(kb, entries=tuple(sections["entries"]))
    if "quick_replies" in sections:
        kb = replace(kb, quick_replies=tuple(sections["quick_replies"]))
    if "rules" in sections:
        kb = replace(kb, rules=tuple(sections["rules"]))
    if "synonyms" in sections:
        kb = replace(kb, synonyms=Synonyms(dict(sections["synonyms"])))
    return kb


def read_kb(path: Path, *, progress: bool = False) -> KnowledgeBase:
    """A knowledge base from one file (sections the file lacks stay empty)."""
    return merge(KnowledgeBase(), read_sections(path, progress=progress))


def _items(kb: KnowledgeBase, name: str) -> list[Any]:
    if name == "synonyms":
        return list(kb.synonyms.groups.items())
    return list(getattr(kb, name))


def _rows(kb: KnowledgeBase, name: str) -> Iterator[dict[str, str]]:
    return (to_row(name, item) for item in _items(kb, name))


def write_kb(path: Path, kb: KnowledgeBase, *, section: str = "entries") -> None:
    """Export: YAML and XLSX hold every section; a CSV holds one (`section`)."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        # With a BOM: Excel (Chinese Windows too) then opens the file as UTF-8, not as GBK.
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=TABLES[section].columns)
            writer.writeheader()
            writer.writerows(_rows(kb, section))
    elif suffix in (".yaml", ".yml"):
        data = {name: [_yaml_item(name, row) for row in _rows(kb, name)] for name in TABLES}
        data["synonyms"] = dict(kb.synonyms.groups.items())  # type: ignore[assignment]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    elif suffix == ".xlsx":
        workbook = openpyxl.Workbook(write_only=True)
        for name, table in TABLES.items():
            sheet = workbook.create_sheet(name)
            sheet.freeze_panes = "A2"  # the header stays in view while scrolling
            for n, column in enumerate(table.columns, start=1):
                width = XLSX_WIDTHS.get(column, 14)
                sheet.column_dimensions[get_column_letter(n)].width = width
            sheet.append(list(table.columns))
            for row in _rows(kb, name):
                sheet.append([_xlsx_cell(sheet, c, row[c]) for c in table.columns])
        workbook.save(path)
    else:
        raise KnowledgeError(f"不支持的文件类型 {suffix!r}；请用 {'、'.join(FORMATS)}")


# Column widths (characters) of an exported workbook; long text columns are wider.
XLSX_WIDTHS = {
    "question": 28,
    "similar": 48,
    "answer": 60,
    "content": 60,
    "title": 20,
    "phrases": 36,
    "caution": 48,
    "variants": 36,
    "keywords": 20,
    "name": 16,
    "id": 18,
}


def _xlsx_cell(sheet: Any, column: str, value: str) -> WriteOnlyCell:
    """Priority as a number, so Excel does not flag "number stored as text"; the rest as text."""
    if column == "priority" and value.lstrip("-").isdigit():
        return WriteOnlyCell(sheet, int(value))
    cell = WriteOnlyCell(sheet, value)
    # openpyxl makes any "=..." a formula: a customer's wording accepted as a similar question
    # would run in the admin's Excel, and read back empty (no cached value) on re-import.
    cell.data_type = "s"
    return cell


def _yaml_item(name: str, row: dict[str, str]) -> dict[str, Any]:
    """A readable YAML item: lists as lists, booleans as booleans, empty cells dropped."""
    table = TABLES[name]
    item: dict[str, Any] = {}
    for column in table.columns:
        value = row.get(column, "")
        if column in ("similar", "keywords", "phrases", "tags", "variants", "negations"):
            item[column] = [v for v in value.split("|") if v]
        elif value in ("true", "false"):
            item[column] = value == "true"
        elif value != "":
            item[column] = int(value) if column == "priority" else value
    nested = [k for k in item if k.startswith("attachment_")]
    attachment = {k.removeprefix("attachment_"): item.pop(k) for k in nested}
    if attachment:
        item["attachment"] = attachment
    return item
