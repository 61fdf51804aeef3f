"""Row-level conversion between file rows and the model, with located validation errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from knowledge.errors import RowError
from knowledge.model import (
    ATTACHMENT_KINDS,
    SCOPES,
    Attachment,
    FaqEntry,
    KeywordRule,
    QuickReply,
)

T = TypeVar("T")
Row = Mapping[str, Any]
# Lists inside one cell (similar questions, keywords, phrases, tags) are separated by "|".
LIST_SEPARATOR = "|"
_TRUE = {"1", "true", "yes", "y", "是", "启用", "on"}
_FALSE = {"0", "false", "no", "n", "否", "停用", "off", ""}
ATTACHMENT_FIELDS = ("kind", "title", "url", "pic_url", "desc", "appid", "page", "media_id")

ENTRY_COLUMNS = (
    "id", "question", "similar", "answer", "category", "keywords", "enabled",
    *(f"attachment_{f}" for f in ATTACHMENT_FIELDS),
)
QUICK_REPLY_COLUMNS = ("id", "title", "content", "category", "scope", "owner", "shortcut")
RULE_COLUMNS = (
    "id", "name", "phrases", "tags", "special_care", "caution", "notify", "escalate", "priority",
)
SYNONYM_COLUMNS = ("canonical", "variants")


class RowReader:
    """Reads typed cells from one row, recording errors instead of raising."""

    def __init__(self, file: str, row_no: int, row: Row, errors: list[RowError]) -> None:
        self.file, self.row_no, self.row, self.errors = file, row_no, row, errors

    def error(self, column: str, message: str) -> None:
        """Record a problem with one cell."""
        self.errors.append(RowError(self.file, self.row_no, column, message))

    def text(self, column: str, *, required: bool = False) -> str:
        """A trimmed string cell."""
        value = self.row.get(column)
        result = "" if value is None else str(value).strip()
        if required and not result:
            self.error(column, "required")
        return result

    def items(self, column: str, *, required: bool = False) -> tuple[str, ...]:
        """A list cell: a YAML list or a "|"-separated string."""
        value = self.row.get(column)
        raw = value if isinstance(value, list) else str(value or "").split(LIST_SEPARATOR)
        result = tuple(dict.fromkeys(s for s in (str(v).strip() for v in raw) if s))
        if required and not result:
            self.error(column, "required (separate several with |)")
        return result

    def flag(self, column: str, default: bool) -> bool:
        """A boolean cell (true/false, 1/0, yes/no, 是/否)."""
        value = self.row.get(column)
        if value is None or isinstance(value, bool):
            return default if value is None else value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return default if text == "" else False
        self.error(column, f"not a boolean: {text!r}")
        return default

    def integer(self, column: str, default: int) -> int:
        """An integer cell."""
        value = self.row.get(column)
        if value is None or str(value).strip() == "":
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            self.error(column, f"not an integer: {value!r}")
            return default


def parse_entry(r: RowReader) -> FaqEntry:
    """An FAQ entry from a row."""
    attachment = None
    kind = r.text("attachment_kind")
    if kind:
        if kind not in ATTACHMENT_KINDS:
            r.error("attachment_kind", f"must be one of {', '.join(ATTACHMENT_KINDS)}")
        else:
            fields = {f: r.text(f"attachment_{f}") for f in ATTACHMENT_FIELDS[1:]}
            attachment = Attachment(kind, **fields)
            if kind == "link" and not attachment.url:
                r.error("attachment_url", "required for a link attachment")
    return FaqEntry(
        id=r.text("id", required=True), question=r.text("question", required=True),
        similar=r.items("similar"), answer=r.text("answer", required=True),
        attachment=attachment, keywords=r.items("keywords"), category=r.text("category"),
        enabled=r.flag("enabled", True),
    )


def parse_quick_reply(r: RowReader) -> QuickReply:
    """A quick reply from a row."""
    scope = r.text("scope") or "corp"
    owner = r.text("owner") or None
    if scope not in SCOPES:
        r.error("scope", f"must be one of {', '.join(SCOPES)}")
        scope = "corp"
    elif scope != "corp" and owner is None:
        r.error("owner", f"required for scope {scope} (department id or userid)")
    return QuickReply(
        id=r.text("id", required=True), title=r.text("title", required=True),
        content=r.text("content", required=True), category=r.text("category"),
        scope=scope,  # type: ignore[arg-type]  # checked above
        owner=owner, shortcut=r.text("shortcut") or None,
    )


def parse_rule(r: RowReader) -> KeywordRule:
    """A keyword rule from a row."""
    return KeywordRule(
        id=r.text("id", required=True), name=r.text("name", required=True),
        phrases=r.items("phrases", required=True), tags=r.items("tags"),
        special_care=r.flag("special_care", False), caution=r.text("caution"),
        notify=r.flag("notify", False), escalate=r.flag("escalate", False),
        priority=r.integer("priority", 0),
    )


def parse_synonym(r: RowReader) -> tuple[str, tuple[str, ...]]:
    """A synonym group (canonical, variants) from a row."""
    return r.text("canonical", required=True), r.items("variants", required=True)


@dataclass(frozen=True, slots=True)
class Table:
    """How one section of a KB is read from and written to rows."""

    name: str
    columns: tuple[str, ...]
    parse: Callable[[RowReader], Any]
    key: str | None  # column that must be unique


TABLES = {
    "entries": Table("entries", ENTRY_COLUMNS, parse_entry, "id"),
    "quick_replies": Table("quick_replies", QUICK_REPLY_COLUMNS, parse_quick_reply, "id"),
    "rules": Table("rules", RULE_COLUMNS, parse_rule, "id"),
    "synonyms": Table("synonyms", SYNONYM_COLUMNS, parse_synonym, "canonical"),
}


def parse_rows(
    table: Table, file: str, rows: Iterable[tuple[int, Row]], errors: list[RowError]
) -> list[Any]:
    """Parse numbered rows of one table; problems (and duplicate keys) go to `errors`."""
    parsed: list[Any] = []
    seen: dict[str, int] = {}
    for row_no, row in rows:
        if not any(str(v).strip() for v in row.values() if v is not None):
            continue  # blank lines are not errors
        reader = RowReader(file, row_no, row, errors)
        item = table.parse(reader)
        if table.key is not None:
            key = reader.text(table.key)
            if key and key in seen:
                reader.error(table.key, f"duplicate {key!r} (first on row {seen[key]})")
            seen.setdefault(key, row_no)
        parsed.append(item)
    return parsed


def to_row(table: str, item: Any) -> dict[str, str]:
    """A flat string row (CSV/XLSX) for one model object."""
    if table == "synonyms":
        canonical, variants = item
        return {"canonical": canonical, "variants": LIST_SEPARATOR.join(variants)}
    data = asdict(item)
    if table == "entries":
        attachment = data.pop("attachment") or {}
        data.update({f"attachment_{f}": attachment.get(f, "") for f in ATTACHMENT_FIELDS})
    return {k: _cell(data.get(k)) for k in TABLES[table].columns}


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return LIST_SEPARATOR.join(value)
    return "" if value is None else str(value)
