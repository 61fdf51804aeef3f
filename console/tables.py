"""Tables the console shows and exports: one definition renders as HTML and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

Value = str | int | float | None
# A spreadsheet runs a cell that starts with one of these as a formula: exported as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: its value, and the list behind it when there is one."""

    value: Value
    href: str = ""
    numeric: bool = False


@dataclass(slots=True)
class Table:
    """A titled table with a CSV export (`?format=csv&table=<id>` on its page)."""

    id: str
    title: str
    columns: Sequence[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    empty: str = "暂无数据"

    def add(self, *cells: Cell | Value) -> None:
        """Append a row; plain values become cells (numbers right-aligned)."""
        self.rows.append(
            [
                c if isinstance(c, Cell) else Cell(c, numeric=isinstance(c, int | float))
                for c in cells
            ]
        )


def _text(value: Value) -> str:
    if value is None:
        return ""
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(table: Table, *, stamp: datetime) -> web.Response:
    """The table as a UTF-8 CSV download (with a BOM, so Excel reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_text(cell.value) for cell in row])
    name = f"{table.title}-{stamp:%Y%m%d-%H%M}.csv"
    ascii_name = f"{table.id}-{stamp:%Y%m%d-%H%M}.csv"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


def pick(tables: Sequence[Table], wanted: str) -> Table:
    """The table a CSV link asks for (404 when there is none by that id)."""
    for table in tables:
        if table.id == wanted:
            return table
    raise web.HTTPNotFound()
