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
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


class ImportValidationError(KnowledgeError):
    """An import found invalid rows; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        shown = "\n".join(str(e) for e in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} invalid row(s):\n{shown}{more}")
        self.errors = errors
