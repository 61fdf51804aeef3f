"""Domain errors of the knowledge engine; the edges translate them for users."""

from __future__ import annotations

from dataclasses import dataclass


class KnowledgeError(Exception):
    """Base of knowledge-engine errors."""


class EntryNotFoundError(KnowledgeError):
    """No FAQ entry has the given id."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"no FAQ entry with id {entry_id!r}")
        self.entry_id = entry_id


class UnreadableFileError(KnowledgeError):
    """The file is not what its name says (a corrupt or renamed workbook)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One validation problem, located by file, row (1-based, header = 1) and column."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return describe(self)


def describe(error: RowError) -> str:
    """One problem as an admin reads it: file, sheet or section, row, column, what is wrong."""
    file, _, section = error.file.partition(":")
    yaml_file = file.lower().endswith((".yaml", ".yml"))
    where = [file]
    if section:
        where.append(f"{'分区' if yaml_file else '工作表'} {section}")
    if error.row:
        header = "（表头）" if error.row == 1 and not yaml_file else ""
        where.append(f"第 {error.row} {'项' if yaml_file else '行'}{header}")
    if error.column:
        where.append(f"{error.column} {'字段' if yaml_file else '列'}")
    return f"{' '.join(where)}：{error.message}"


class ImportValidationError(KnowledgeError):
    """An import found invalid rows; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        shown = "\n".join(str(e) for e in errors[:20])
        more = f"\n……另有 {len(errors) - 20} 处" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} 处问题：\n{shown}{more}")
        self.errors = errors
