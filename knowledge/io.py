"""Import and export of the knowledge base as CSV, YAML and XLSX."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import yaml
from tqdm import tqdm

from knowledge.errors import ImportValidationError, KnowledgeError, RowError
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
    bar: Iterable[tuple[int, Row]] = tqdm(rows, desc=label, unit="row")
    return bar


def _detect_csv_table(header: list[str], file: str) -> str:
    """Which section a CSV holds, from its header."""
    columns = set(header)
    for name in ("rules", "quick_replies", "synonyms", "entries"):
        required = {"phrases"} if name == "rules" else {"content"} if name == "quick_replies" \
            else {"canonical"} if name == "synonyms" else {"id", "question"}
        if required <= columns:
            return name
    raise ImportValidationError([RowError(file, 1, "", "unknown header: " + ",".join(header))])


def _read_csv(path: Path) -> dict[str, list[tuple[int, Row]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        table = _detect_csv_table([h.strip() for h in reader.fieldnames or []], path.name)
        rows: list[tuple[int, Row]] = [
            (n, {k.strip(): v for k, v in row.items() if k})
            for n, row in enumerate(reader, start=2)
        ]
    return {table: rows}


def _read_yaml(path: Path) -> dict[str, list[tuple[int, Row]]]:
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ImportValidationError([RowError(path.name, 0, "", f"bad YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ImportValidationError([RowError(path.name, 0, "", "expected a mapping")])
    sections: dict[str, list[tuple[int, Row]]] = {}
    for name, items in data.items():
        if name not in TABLES:
            raise ImportValidationError([RowError(path.name, 0, str(name), "unknown section")])
        if name == "synonyms" and isinstance(items, dict):
            items = [{"canonical": k, "variants": v} for k, v in items.items()]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ImportValidationError([RowError(path.name, 0, name, "expected a list")])
        # YAML "rows" are item numbers within their section.
        sections[name] = [(n, _flatten(item)) for n, item in enumerate(items, start=1)]
    return sections


def _flatten(item: dict[str, Any]) -> Row:
    """A YAML item with a nested `attachment` mapping as flat attachment_* columns."""
    attachment = item.get("attachment")
    if not isinstance(attachment, dict):
        return item
    flat = {k: v for k, v in item.items() if k != "attachment"}
    flat.update({f"attachment_{k}": v for k, v in attachment.items()})
    return flat


def _read_xlsx(path: Path) -> dict[str, list[tuple[int, Row]]]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sections: dict[str, list[tuple[int, Row]]] = {}
    try:
        for sheet in workbook.worksheets:
            if sheet.title not in TABLES:
                logger.warning("skipping sheet %s of %s", sheet.title, path.name)
                continue
            rows = sheet.iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
            sections[sheet.title] = [
                (n, {h: v for h, v in zip(header, values, strict=False) if h})
                for n, values in enumerate(rows, start=2)
            ]
    finally:
        workbook.close()
    return sections


def read_sections(path: Path, *, progress: bool = False) -> Sections:
    """Parse a KB file into its sections; raises ImportValidationError listing every problem."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise KnowledgeError(f"unsupported file type {suffix!r}; use one of {', '.join(FORMATS)}")
    reader = {".csv": _read_csv, ".xlsx": _read_xlsx}.get(suffix, _read_yaml)
    raw = reader(path)
    errors: list[RowError] = []
    sections = {
        name: parse_rows(
            TABLES[name], f"{path.name}:{name}" if suffix != ".csv" else path.name,
            _progress(rows, name, progress), errors,
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
        with path.open("w", encoding="utf-8", newline="") as fh:
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
            sheet.append(list(table.columns))
            for row in _rows(kb, name):
                sheet.append([row[c] for c in table.columns])
        workbook.save(path)
    else:
        raise KnowledgeError(f"unsupported file type {suffix!r}; use one of {', '.join(FORMATS)}")


def _yaml_item(name: str, row: dict[str, str]) -> dict[str, Any]:
    """A readable YAML item: lists as lists, booleans as booleans, empty cells dropped."""
    table = TABLES[name]
    item: dict[str, Any] = {}
    for column in table.columns:
        value = row.get(column, "")
        if column in ("similar", "keywords", "phrases", "tags", "variants"):
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
