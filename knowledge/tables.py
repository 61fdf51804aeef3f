"""Row-level conversion between file rows and the model, with located validation errors."""

from __future__ import annotations

import re
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
# Lists inside one cell (similar questions, keywords, phrases, tags) are written with "|";
# reading also splits on line breaks (Alt+Enter in Excel) and on semicolons, and term lists
# (keywords, phrases, tags, variants: words, never sentences) on 、 and commas too. A question
# may contain 、 or a comma ("面霜、精华哪个先用"), so similar questions are not split on them.
LIST_SEPARATOR = "|"
_LIST_SPLIT = re.compile(r"[|｜\r\n;；]")
_TERMS_SPLIT = re.compile(r"[|｜\r\n;；、,，]")
_TERM_COLUMNS = frozenset({"keywords", "phrases", "tags", "variants", "negations"})
_TRUE = {"1", "true", "yes", "y", "是", "启用", "on"}
_FALSE = {"0", "false", "no", "n", "否", "停用", "off", ""}
ATTACHMENT_FIELDS = ("kind", "title", "url", "pic_url", "desc", "appid", "page", "media_id")

ENTRY_COLUMNS = (
    "id",
    "question",
    "similar",
    "answer",
    "category",
    "keywords",
    "enabled",
    *(f"attachment_{f}" for f in ATTACHMENT_FIELDS),
)
QUICK_REPLY_COLUMNS = ("id", "title", "content", "category", "scope", "owner", "shortcut")
RULE_COLUMNS = (
    "id",
    "name",
    "phrases",
    "tags",
    "special_care",
    "caution",
    "notify",
    "escalate",
    "priority",
    "negations",
)
SYNONYM_COLUMNS = ("canonical", "variants")
# Longest ids and names the database columns hold (knowledge/store.py).
ID_MAX = 64
NAME_MAX = 100
# WeCom's limit on a corp tag's name: a longer rule tag could never be created there.
TAG_MAX = 30
# Columns holding links a customer or rep will open: only web links, never javascript: etc.
LINK_COLUMNS = ("attachment_url", "attachment_pic_url")


def _scalar(value: Any) -> str:
    """A cell as text: None is empty, a whole float (Excel's numbers) loses its ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class RowReader:
    """Reads typed cells from one row, recording errors instead of raising."""

    def __init__(self, file: str, row_no: int, row: Row, errors: list[RowError]) -> None:
        self.file, self.row_no, self.row, self.errors = file, row_no, row, errors

    def error(self, column: str, message: str) -> None:
        """Record a problem with one cell."""
        self.errors.append(RowError(self.file, self.row_no, column, message))

    def text(self, column: str, *, required: bool = False, limit: int | None = None) -> str:
        """A trimmed string cell."""
        value = self.row.get(column)
        result = _scalar(value).strip()
        if required and not result:
            self.error(column, "必填，单元格是空的")
        elif limit is not None and len(result) > limit:
            self.error(column, f"太长：{len(result)} 个字，最多 {limit} 个")
        return result

    def link(self, column: str) -> str:
        """A URL cell: empty, or an absolute http(s) link (a javascript: or data: link is
        refused here rather than sent to customers later)."""
        value = self.text(column, limit=2000)
        if not value:
            return value
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
            self.error(column, f"不是 http(s) 链接：{value[:80]!r}")
        return value

    def choice(self, column: str, choices: tuple[str, ...], default: str) -> str:
        """One of `choices` (case-insensitive); an unknown value is an error naming them."""
        value = self.text(column)
        if not value:
            return default
        if value.lower() in choices:
            return value.lower()
        self.error(column, f"{value!r} 不是可选值之一：{'、'.join(choices)}")
        return default

    def items(self, column: str, *, required: bool = False) -> tuple[str, ...]:
        """A list cell: a YAML list or a "|"-separated string."""
        value = self.row.get(column)
        split = _TERMS_SPLIT if column in _TERM_COLUMNS else _LIST_SPLIT
        raw = value if isinstance(value, list) else split.split(_scalar(value))
        result = tuple(dict.fromkeys(s for s in (_scalar(v).strip() for v in raw) if s))
        if required and not result:
            self.error(column, "必填（一个或多个，用 | 或换行分隔）")
        return result

    def flag(self, column: str, default: bool) -> bool:
        """A boolean cell (true/false, 1/0, yes/no, 是/否)."""
        value = self.row.get(column)
        if value is None or isinstance(value, bool):
            return default if value is None else value
        text = _scalar(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return default if text == "" else False
        self.error(column, f"不是是/否值：{text!r}（请填 是/否、true/false 或 1/0）")
        return default

    def integer(self, column: str, default: int) -> int:
        """An integer cell."""
        value = self.row.get(column)
        if isinstance(value, float) and value.is_integer():
            return int(value)  # Excel keeps numbers as floats: 5.0
        if value is None or str(value).strip() == "":
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            self.error(column, f"不是整数：{value!r}")
            return default


def parse_entry(r: RowReader) -> FaqEntry:
    """An FAQ entry from a row."""
    attachment = None
    kind = r.choice("attachment_kind", ATTACHMENT_KINDS, "")
    if kind:
        fields = {
            f: (r.link if f"attachment_{f}" in LINK_COLUMNS else r.text)(f"attachment_{f}")
            for f in ATTACHMENT_FIELDS[1:]
        }
        attachment = Attachment(kind, **fields)  # type: ignore[arg-type]  # a choice
        if kind == "link" and not attachment.url:
            r.error("attachment_url", "链接附件必须填写")
    return FaqEntry(
        id=r.text("id", required=True, limit=ID_MAX),
        question=r.text("question", required=True),
        similar=r.items("similar"),
        answer=r.text("answer", required=True),
        attachment=attachment,
        keywords=r.items("keywords"),
        category=r.text("category", limit=NAME_MAX),
        enabled=r.flag("enabled", True),
    )


def parse_quick_reply(r: RowReader) -> QuickReply:
    """A quick reply from a row."""
    scope = r.choice("scope", SCOPES, "corp")
    owner = r.text("owner", limit=64) or None
    if scope != "corp" and owner is None:
        r.error("owner", f"范围为 {scope} 时必填（部门 id 或成员 userid）")
    return QuickReply(
        id=r.text("id", required=True, limit=ID_MAX),
        title=r.text("title", required=True, limit=2 * NAME_MAX),
        content=r.text("content", required=True),
        category=r.text("category", limit=NAME_MAX),
        scope=scope,  # type: ignore[arg-type]  # checked above
        owner=owner,
        shortcut=r.text("shortcut", limit=ID_MAX) or None,
    )


def parse_rule(r: RowReader) -> KeywordRule:
    """A keyword rule from a row."""
    tags = r.items("tags")
    for tag in tags:
        if len(tag) > TAG_MAX:
            r.error("tags", f"标签 {tag[:40]!r} 有 {len(tag)} 个字，企业微信最多 {TAG_MAX} 个")
    return KeywordRule(
        id=r.text("id", required=True, limit=ID_MAX),
        name=r.text("name", required=True, limit=NAME_MAX),
        phrases=r.items("phrases", required=True),
        tags=tags,
        special_care=r.flag("special_care", False),
        caution=r.text("caution"),
        notify=r.flag("notify", False),
        escalate=r.flag("escalate", False),
        priority=r.integer("priority", 0),
        negations=r.items("negations"),
    )


def parse_synonym(r: RowReader) -> tuple[str, tuple[str, ...]]:
    """A synonym group (canonical, variants) from a row."""
    canonical = r.text("canonical", required=True, limit=NAME_MAX)
    variants = r.items("variants", required=True)
    if any(len(v) > NAME_MAX for v in variants):
        r.error("variants", f"有一个说法超过 {NAME_MAX} 个字")
    return canonical, variants


@dataclass(frozen=True, slots=True)
class Table:
    """How one section of a KB is read from and written to rows."""

    name: str
    columns: tuple[str, ...]
    parse: Callable[[RowReader], Any]
    key: str | None  # column that must be unique
    required: tuple[str, ...]  # columns a CSV/XLSX header must have


TABLES = {
    "entries": Table("entries", ENTRY_COLUMNS, parse_entry, "id", ("id", "question", "answer")),
    "quick_replies": Table(
        "quick_replies", QUICK_REPLY_COLUMNS, parse_quick_reply, "id", ("id", "title", "content")
    ),
    "rules": Table("rules", RULE_COLUMNS, parse_rule, "id", ("id", "name", "phrases")),
    "synonyms": Table(
        "synonyms", SYNONYM_COLUMNS, parse_synonym, "canonical", ("canonical", "variants")
    ),
}


def parse_rows(
    table: Table, file: str, rows: Iterable[tuple[int, Row]], errors: list[RowError]
) -> list[Any]:
    """Parse numbered rows of one table; problems (and duplicate keys) go to `errors`."""
    parsed: list[Any] = []
    seen: dict[str, int] = {}
    for row_no, row in rows:
        if not any(_scalar(v).strip() for v in row.values()):
            continue  # blank lines are not errors
        reader = RowReader(file, row_no, row, errors)
        item = table.parse(reader)
        if table.key is not None:
            key = reader.text(table.key)
            if key and key in seen:
                reader.error(table.key, f"{key!r} 重复（第一次出现在第 {seen[key]} 行）")
            seen.setdefault(key, row_no)
        parsed.append(item)
    return parsed


def to_row(table: str, item: Any) -> dict[str, str]:
    """A flat string row (CSV/XLSX) for one model object."""
    if table == "synonyms":
        canonical, variants = item
        return {"canonical": canonical, "variants": join_items("variants", variants)}
    data = asdict(item)
    if table == "entries":
        attachment = data.pop("attachment") or {}
        data.update({f"attachment_{f}": attachment.get(f, "") for f in ATTACHMENT_FIELDS})
    return {k: _cell(k, data.get(k)) for k in TABLES[table].columns}


def join_items(column: str, items: Iterable[str]) -> str:
    """A list cell; a separator inside an item (a customer's "你好；几点发货" confirmed as a
    similar question) becomes a space, so reading the cell back keeps it one item."""
    split = _TERMS_SPLIT if column in _TERM_COLUMNS else _LIST_SPLIT
    cleaned = (" ".join(split.sub(" ", item).split()) for item in items)
    return LIST_SEPARATOR.join(item for item in cleaned if item)


def _cell(column: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return join_items(column, value)
    return "" if value is None else str(value)
