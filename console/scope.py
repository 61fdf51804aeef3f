"""Department scoping: the one helper every console query goes through.

Admins see everything; a supervisor sees the members of their own departments (departed ones
included: their customers still need handing on) and themselves. A page may narrow the scope
to one department or one rep, never widen it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import PermissionDeniedError
from bot.domain.models import Department, Staff
from console.auth import Viewer, viewer_of


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose data a console query may touch."""

    reps: frozenset[str] | None  # None: every member (an admin, not narrowed)
    departments: frozenset[int] | None  # the departments the viewer may pick; None: all
    department: int | None = None  # the department picked, if any
    rep: str | None = None  # the rep picked, if any

    def where(self, column: Any) -> ColumnElement[bool]:
        """A filter on a userid column (follow_relation.userid, message.userid, ...)."""
        if self.reps is None:
            return true()
        if not self.reps:
            return false()
        return column.in_(sorted(self.reps))  # type: ignore[no-any-return]

    def allows(self, userid: str) -> bool:
        """Whether one member's data is in scope."""
        return self.reps is None or userid in self.reps

    def query_args(self) -> dict[str, str]:
        """The narrowing as query parameters (links keep the picked department and rep)."""
        out = {}
        if self.department is not None:
            out["dept"] = str(self.department)
        if self.rep:
            out["rep"] = self.rep
        return out


def _in_departments(staff: Iterable[Staff], departments: set[int]) -> set[str]:
    # Departments are a JSON list: filtered in Python so SQLite and PostgreSQL agree.
    return {s.userid for s in staff if departments & set(s.departments or [])}


async def scope_for(
    db: AsyncSession, viewer: Viewer, *, department: int | None = None, rep: str | None = None
) -> Scope:
    """The viewer's scope, narrowed to a department and/or a rep when asked."""
    everyone = (await db.scalars(select(Staff))).all()
    mine = set(viewer.departments)
    if viewer.is_admin:
        reps: set[str] | None = None
        allowed_depts: frozenset[int] | None = None
    else:
        reps = _in_departments(everyone, mine) | {viewer.userid}
        allowed_depts = frozenset(mine)
    if department is not None:
        if allowed_depts is not None and department not in allowed_depts:
            raise PermissionDeniedError("你只能查看自己部门的数据")
        narrowed = _in_departments(everyone, {department})
        reps = narrowed if reps is None else reps & narrowed
    if rep:
        if reps is not None and rep not in reps:
            raise PermissionDeniedError("你只能查看自己部门成员的数据")
        reps = {rep}
    return Scope(
        reps=None if reps is None else frozenset(reps), departments=allowed_depts,
        department=department, rep=rep or None,
    )  # fmt: skip


async def department_choices(db: AsyncSession, scope: Scope) -> list[tuple[int, str]]:
    """(id, name) of the departments the viewer may narrow to (the same narrowed or not)."""
    names = {d.id: d.name for d in await db.scalars(select(Department))}
    ids = sorted(scope.departments) if scope.departments is not None else sorted(names)
    return [(d, names.get(d, f"部门 {d}")) for d in ids]


def parse_narrowing(query: Any) -> tuple[int | None, str | None]:
    """The ?dept= and ?rep= of a request (bad values are ignored, never trusted)."""
    raw = str(query.get("dept", "")).strip()
    department = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    rep = str(query.get("rep", "")).strip()[:64] or None
    return department, rep


async def request_scope(db: AsyncSession, request: web.Request) -> Scope:
    """The viewer's scope narrowed by the request's ?dept= and ?rep=."""
    department, rep = parse_narrowing(request.query)
    return await scope_for(db, viewer_of(request), department=department, rep=rep)
