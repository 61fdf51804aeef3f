"""Page 9, staff and roles: members from the address book; admins change roles (audited)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import DB, SETTINGS
from bot.domain import audit
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR, Department, Staff
from console import auth, layout
from console.registry import Nav, route
from console.scope import parse_narrowing, scope_for

STATUS = {"active": True, "departed": False}
PAGE = "/console/staff"


# Names may hold spaces ("华东 销售部"): spaces separate only ids ("2 3").
_SEPARATORS = re.compile(r"[,，、;；\n]+")
_IDS = re.compile(r"\d{1,10}(?:\s+\d{1,10})*")


async def _departments_field(
    db: AsyncSession, raw: str, has: Sequence[int] = ()
) -> list[int] | None:
    """Departments typed by name or id ("销售一部、2"); None when left empty (keep them).

    An id must be in the mirrored address book, or one the member already has (the form
    writes those back as ids even when the address book has not caught up)."""
    parts: list[str] = []
    for part in (p.strip() for p in _SEPARATORS.split(raw)):
        parts += part.split() if _IDS.fullmatch(part) else [part] if part else []
    parts = parts[:50]
    if not parts:
        return None
    by_name: dict[str, list[int]] = {}
    known = set(has)
    for dept in await db.scalars(select(Department)):
        by_name.setdefault(dept.name, []).append(dept.id)
        known.add(dept.id)
    ids: set[int] = set()
    for part in parts:
        if part.isdecimal() and len(part) <= 10:
            if int(part) not in known:
                raise UsageError(f"没有 ID 为 {int(part)} 的部门；请填通讯录里的部门名称或部门 ID")
            ids.add(int(part))
        elif len(by_name.get(part, [])) == 1:
            ids.add(by_name[part][0])
        elif part in by_name:
            raise UsageError(f"有 {len(by_name[part])} 个部门叫「{part[:30]}」，请改填部门 ID")
        else:
            raise UsageError(f"没有叫「{part[:30]}」的部门；请填通讯录里的部门名称或部门 ID")
    return sorted(ids)


def _typed(depts: dict[int, str]) -> dict[int, str]:
    """How the role form writes each department so that saving reads it back as the same one:
    its name, or its id when the name is shared, holds a separator or reads as ids."""
    uses: dict[str, int] = {}
    for name in depts.values():
        uses[name] = uses.get(name, 0) + 1
    return {
        i: n if n and n == n.strip() and uses[n] == 1 and not _SEPARATORS.search(n)
        and not _IDS.fullmatch(n) and not n.isdecimal() else str(i)
        for i, n in depts.items()
    }  # fmt: skip


@route("GET", "/staff", role=ROLE_SUPERVISOR, nav=Nav("员工与角色", 90))
async def staff_page(request: web.Request) -> web.StreamResponse:
    """Members in the viewer's scope, filterable by department, role, status and name."""
    viewer = auth.viewer_of(request)
    department, rep = parse_narrowing(request.query)
    role = request.query.get("role", "")
    status = request.query.get("status", "")
    q = request.query.get("q", "").strip()[:64]
    async with request.config_dict[DB]() as db:
        scope = await scope_for(db, viewer, department=department)
        query = select(Staff).where(scope.where(Staff.userid)).order_by(Staff.userid)
        if role in staff_service.ROLE_RANK:
            query = query.where(Staff.role == role)
        if status in STATUS:
            query = query.where(Staff.active.is_(STATUS[status]))
        if q:
            query = query.where(Staff.userid.contains(q, autoescape=True)
                                | Staff.name.contains(q, autoescape=True))  # fmt: skip
        members = (await db.scalars(query.limit(1000))).all()
        depts = {d.id: d.name for d in await db.scalars(select(Department))}
    choices = sorted(scope.departments) if scope.departments is not None else sorted(depts)
    context = {
        "members": members, "departments": depts, "dept_choices": choices,
        "dept_typed": _typed(depts),
        "roles": staff_service.ROLE_LABEL, "filters": {
            "dept": department, "role": role, "status": status, "q": q,
        },
        "can_edit": viewer.is_admin, "saved": request.query.get("saved", ""),
        "sync_note": sync_note(request.config_dict[SETTINGS].directory_sync_interval),
    }  # fmt: skip
    return layout.render(request, "console/staff.html", context)


def sync_note(interval: float) -> str:
    """How the address book reaches this page, in the admin's words (SIDEKICK_DIRECTORY_SYNC)."""
    if interval <= 0:
        return "成员首次出现时从企业微信读取"
    minutes = round(interval / 60)
    if minutes < 60 or minutes % 60:
        return f"每 {max(minutes, 1)} 分钟同步一次"
    hours = minutes // 60
    if hours % 24 == 0:
        return "每天同步一次" if hours == 24 else f"每 {hours // 24} 天同步一次"
    return "每小时同步一次" if hours == 1 else f"每 {hours} 小时同步一次"


@route(
    "POST", "/staff/{userid}/role", role=ROLE_ADMIN,
    sample={"userid": "rep2"}, form={"role": "rep", "departments": "2"},
)  # fmt: skip
async def change_role(request: web.Request) -> web.StreamResponse:
    """Set a member's role (and departments); the change and its before/after are audited."""
    viewer = auth.viewer_of(request)
    userid = request.match_info["userid"]
    form = await request.post()
    role = str(form.get("role", ""))
    if role not in staff_service.ROLE_RANK:
        raise UsageError("请选择角色：客服 / 主管 / 管理员")
    async with request.config_dict[DB].begin() as db:
        member = await db.get(Staff, userid)
        if member is None:
            raise NotFoundError("找不到这位员工")
        departments = await _departments_field(
            db, str(form.get("departments", "")), member.departments or ()
        )
        before = {"role": member.role, "departments": list(member.departments or [])}
        if userid == viewer.userid and role != ROLE_ADMIN:
            raise UsageError("不能取消自己的管理员角色，请让另一位管理员操作")
        await staff_service.set_role(db, userid=userid, role=role, departments=departments)
        after = {"role": member.role, "departments": list(member.departments or [])}
        await audit.record(db, actor=viewer.userid, action="console:role", target=userid,
                           detail={"before": before, "after": after})  # fmt: skip
    raise layout.see_other(PAGE, saved=userid)
