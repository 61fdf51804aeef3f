"""Staff rows and roles: seeded from settings, changed by admins, scoped by department."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.db import insert_ignore, utcnow
from bot.core.errors import NotFoundError, UsageError, WeComError
from bot.core.settings import Settings
from bot.domain.models import ROLE_ADMIN, ROLE_REP, ROLE_SUPERVISOR, Staff
from bot.wecom.client import BUSY_ERRCODES, WeComClient

logger = logging.getLogger(__name__)

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

# A member's name and departments are fetched again from WeCom (user/get) after this long.
SYNC_EVERY = timedelta(days=1)


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
    """The staff row for userid, created on first sight; settings can only raise the role.

    Two workers may see a new member at once (a command and a sidebar sign-in): the row is
    created with an idempotent insert, so neither fails on the other's.
    """
    staff = await session.get(Staff, userid)
    seeded = seeded_role(settings, userid)
    if staff is None:
        await insert_ignore(
            session, Staff, userid=userid, name="", departments=[], role=seeded, active=True
        )
        staff = await session.get(Staff, userid)
        if staff is None:  # pragma: no cover - our insert or the other worker's row is there
            raise RuntimeError(f"staff row {userid} missing after insert")
    if rank(seeded) > rank(staff.role):
        # SIDEKICK_ADMINS / SIDEKICK_SUPERVISORS are configuration: they win over a lower role.
        staff.role = seeded
    return staff


@dataclass(frozen=True)
class Fetched:
    """What user/get gave for one member."""

    member: Mapping[str, Any] | None  # the member; None when WeCom refused or was unreachable
    answered: bool  # WeCom answered (data or a refusal such as 60111): counts as a sync
    errcode: int = 0  # WeCom's refusal, when it refused


def sync_due(staff: Staff | None, now: datetime) -> bool:
    """Whether to ask WeCom about a member: first seen, never synced, or synced a day ago."""
    return staff is None or staff.synced_at is None or now - staff.synced_at >= SYNC_EVERY


# user/get's status: 1 activated, 2 disabled, 4 not activated yet, 5 left the corp. A disabled
# or departed member's sidebar session stops working and they drop out of alerts.
MEMBER_STATUS_ACTIVE = {1: True, 2: False, 4: True, 5: False}


def member_departments(member: Mapping[str, Any]) -> list[int]:
    """user/get's department ids, the main department first, then WeCom's order."""
    raw = member.get("department")
    ids = [d for d in raw if isinstance(d, int)] if isinstance(raw, list) else []
    main = member.get("main_department")
    if isinstance(main, int) and main in ids:
        ids.insert(0, main)
    return list(dict.fromkeys(ids))


async def fetch_member(wecom: WeComClient, userid: str) -> Fetched:
    """Ask WeCom for a member; a WeComError is logged, never raised."""
    try:
        return Fetched(await wecom.get_user(userid), answered=True)
    except WeComError as exc:
        # 60111 no such member, 60011 outside the app's visible range, 48002 API forbidden:
        # the local name and departments stay, and we ask again tomorrow. Network trouble
        # or a busy WeCom (errcode <= 0, 45009, 45033) is retried on the next sight.
        answered = exc.errcode > 0 and exc.errcode not in BUSY_ERRCODES
        logger.warning("member sync failed userid=%s errcode=%s", userid, exc.errcode)
        return Fetched(None, answered=answered, errcode=exc.errcode)


def apply_member(staff: Staff, fetched: Fetched, now: datetime) -> bool:
    """Copy name and departments (never the role) onto the row; True when WeCom gave data."""
    if fetched.answered:
        staff.synced_at = now
    if fetched.member is None:
        return False
    name = str(fetched.member.get("name") or "")
    departments = member_departments(fetched.member)
    # Empty values never overwrite known ones (a restricted app may get no name).
    staff.name = name or staff.name
    staff.departments = departments or staff.departments
    status = fetched.member.get("status")
    if isinstance(status, int) and status in MEMBER_STATUS_ACTIVE:
        staff.active = MEMBER_STATUS_ACTIVE[status]
    return True


async def member(
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    wecom: WeComClient,
    userid: str,
    *,
    now: datetime | None = None,
) -> Staff:
    """The member's row, synced from WeCom when due and created on first sight.

    Call with no session open. The common case (known, synced within a day, role as the
    settings say) is one read; WeCom is asked only when a sync is due, before any write.
    """
    now = now or utcnow()
    async with db() as session:
        staff = await session.get(Staff, userid)
    due = sync_due(staff, now)
    if staff is not None and not due and rank(seeded_role(settings, userid)) <= rank(staff.role):
        return staff
    fetched = await fetch_member(wecom, userid) if due else None
    async with db.begin() as session:
        staff = await get_staff(session, settings, userid)
        if fetched is not None:
            apply_member(staff, fetched, now)
        return staff


async def ensure_synced(
    db: async_sessionmaker[AsyncSession],
    settings: Settings,
    wecom: WeComClient,
    userid: str,
    *,
    now: datetime | None = None,
) -> bool:
    """Create the member's row if new and sync it when due; call with no session open."""
    now = now or utcnow()
    async with db() as session:
        due = sync_due(await session.get(Staff, userid), now)
    if not due:
        return False
    # Fetched with no session open: SQLite has one writer (and one pooled connection).
    fetched = await fetch_member(wecom, userid)
    async with db.begin() as session:
        staff = await get_staff(session, settings, userid)
        return apply_member(staff, fetched, now)


def label_of(staff: Staff | None, userid: str) -> str:
    """How staff see a member: "张三（zhangsan）", or the userid while the name is unknown."""
    name = staff.name if staff else ""
    return f"{name}（{userid}）" if name and name != userid else userid


async def labels(session: AsyncSession, userids: Iterable[str]) -> dict[str, str]:
    """userid -> label_of for several members (unknown members keep their userid)."""
    wanted = {u for u in userids if u}
    rows = (await session.scalars(select(Staff).where(Staff.userid.in_(wanted)))).all()
    known = {s.userid: s for s in rows}
    return {u: label_of(known.get(u), u) for u in wanted}


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
    if staff is None:  # idempotent: the member may be signing in on another worker right now
        await insert_ignore(
            session, Staff, userid=userid, name="", departments=[], role=role, active=True
        )
        staff = await session.get(Staff, userid)
        if staff is None:  # pragma: no cover - our insert or the other worker's row is there
            raise RuntimeError(f"staff row {userid} missing after insert")
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
