"""Staff rows and roles: seeded from settings, changed by admins, scoped by department."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFoundError, UsageError
from bot.models import ROLE_ADMIN, ROLE_REP, ROLE_SUPERVISOR, Staff
from bot.settings import Settings

ROLE_RANK = {ROLE_REP: 1, ROLE_SUPERVISOR: 2, ROLE_ADMIN: 3}
ROLE_LABEL = {ROLE_REP: "客服", ROLE_SUPERVISOR: "主管", ROLE_ADMIN: "管理员"}
# What an admin may type in /role, in Chinese or English.
ROLE_NAMES = {
    "rep": ROLE_REP,
    "客服": ROLE_REP,
    "supervisor": ROLE_SUPERVISOR,
    "主管": ROLE_SUPERVISOR,
    "admin": ROLE_ADMIN,
    "管理员": ROLE_ADMIN,
}


def seeded_role(settings: Settings, userid: str) -> str:
    """The role the settings give this userid (rep when not listed)."""
    if userid in settings.admin_ids:
        return ROLE_ADMIN
    if userid in settings.supervisor_ids:
        return ROLE_SUPERVISOR
    return ROLE_REP


def rank(role: str) -> int:
    """Numeric rank of a role name (unknown names rank lowest)."""
    return ROLE_RANK.get(role, 0)


async def get_staff(session: AsyncSession, settings: Settings, userid: str) -> Staff:
    """The staff row for userid, created on first sight; settings can only raise the role."""
    staff = await session.get(Staff, userid)
    seeded = seeded_role(settings, userid)
    if staff is None:
        staff = Staff(userid=userid, name="", departments=[], role=seeded, active=True)
        session.add(staff)
        await session.flush()
    elif rank(seeded) > rank(staff.role):
        # SIDEKICK_ADMINS / SIDEKICK_SUPERVISORS are configuration: they win over a lower role.
        staff.role = seeded
    return staff


async def find_staff(session: AsyncSession, ref: str) -> Staff:
    """A staff member by exact userid or name; NotFoundError otherwise."""
    staff = await session.get(Staff, ref)
    if staff is not None:
        return staff
    rows = (await session.scalars(select(Staff).where(Staff.name == ref))).all()
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise UsageError(f"有多位员工叫「{ref}」，请用 userid")
    raise NotFoundError(f"找不到员工「{ref}」")


async def set_role(
    session: AsyncSession,
    *,
    userid: str,
    role: str,
    departments: Sequence[int] | None = None,
) -> Staff:
    """Set a member's role (and departments when given); creates the row if needed."""
    if role not in ROLE_RANK:
        raise UsageError(f"未知角色「{role}」，可选：客服 / 主管 / 管理员")
    staff = await session.get(Staff, userid)
    if staff is None:
        staff = Staff(userid=userid, name="", departments=[], role=role, active=True)
        session.add(staff)
    staff.role = role
    if departments is not None:
        staff.departments = sorted(set(departments))
    await session.flush()
    return staff


async def colleagues(
    session: AsyncSession, userid: str, *, active_only: bool = True
) -> list[Staff]:
    """Staff sharing at least one department with userid (userid included)."""
    me = await session.get(Staff, userid)
    mine = set(me.departments or []) if me else set()
    query = select(Staff)
    if active_only:
        query = query.where(Staff.active.is_(True))
    rows = (await session.scalars(query)).all()
    # Departments are a JSON list: filtering in Python keeps SQLite and PostgreSQL alike.
    return [s for s in rows if s.userid == userid or mine & set(s.departments or [])]


def scope_hint(viewer: Staff) -> str:
    """A note for a supervisor whose team is empty because no department is set ("" otherwise)."""
    if viewer.role != ROLE_SUPERVISOR or viewer.departments:
        return ""
    return (
        f"（你还没有设置部门，只能看到自己的数据；请管理员发 /role {viewer.userid} 主管 部门ID）"
    )


async def team_userids(session: AsyncSession, viewer: Staff) -> set[str] | None:
    """Reps whose customers the viewer may see; None means everyone (admin)."""
    if viewer.role == ROLE_ADMIN:
        return None
    if viewer.role == ROLE_SUPERVISOR:
        # Departed members count: their customers still need a supervisor to hand them on.
        team = await colleagues(session, viewer.userid, active_only=False)
        return {s.userid for s in team}
    return {viewer.userid}
