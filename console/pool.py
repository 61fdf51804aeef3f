"""The 公海 pool (issue 13): customers waiting in the pool (why, when, their last rep), filtered
by stage, tier and tag; supervisors assign them to a rep of their departments (WeCom is asked
first: a refusal shows its reason and changes nothing) and move customers in; each rep's claims
today against the daily limit; the move history with failures and why.

Scope: a pooled customer belongs to its last rep's department (one with no rep: everyone's).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import CLOCK, DB, SETTINGS, WECOM
from bot.domain import audit, lifecycle_views, pool, pool_views, stages
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_SUPERVISOR, Customer, Staff
from console import auth, fmt, layout
from console.registry import Nav, route
from console.scope import Scope, department_choices, request_scope, scope_for

logger = logging.getLogger(__name__)
PAGE = "/console/pool"
KIND_LABEL = {"claim": "领取", "assign": "指派", "resigned": "离职继承"}
MOVE_STATUS = {"started": "已发起（客户 24 小时内可拒绝）", "failed": "失败"}
ENTERED_BY = {"rule": "SOP 规则", "supervisor": "主管", "departure": "员工离职", "system": "系统"}


def filters_of(query: Any) -> lifecycle_views.Filters:
    """The list filters of a request (long values cut, never trusted)."""
    return lifecycle_views.Filters(
        stage=str(query.get("stage", "")).strip()[:32],
        tier=str(query.get("tier", "")).strip()[:16],
        tag=str(query.get("tag", "")).strip()[:64],
        q=str(query.get("q", "")).strip()[:64],
    )


async def _members(db: Any, scope: Scope) -> list[Staff]:
    """Active members in scope, the reps an assignment may go to."""
    rows = await db.scalars(
        select(Staff)
        .where(Staff.active.is_(True), scope.where(Staff.userid))
        .order_by(Staff.userid)
    )
    return list(rows)


async def _context(request: web.Request, *, error: str = "") -> dict[str, Any]:
    settings = request.config_dict[SETTINGS]
    tz = ZoneInfo(settings.timezone)
    now = request.config_dict[CLOCK].now()
    filters = filters_of(request.query)
    async with request.config_dict[DB]() as db:
        scope = await request_scope(db, request)
        total, rows = await pool_views.pool(
            db, settings, userids=scope.reps, filters=filters, now=now
        )
        members = await _members(db, scope)
        departments = await department_choices(db, scope)
        claims = await pool_views.claims_today(db, settings, [m.userid for m in members], now)
        moves = await pool_views.moves(db, userids=scope.reps)
        refused = await pool_views.refused_takes(db, userids=scope.reps, now=now)
        names = {
            c.external_userid: c.name
            for c in await db.scalars(
                select(Customer).where(Customer.external_userid.in_([r.target for r in refused]))
            )
        }
        wanted = [r.entry.from_userid for r in rows] + [r.entry.entered_by for r in rows]
        wanted += [m.from_userid for m, _ in moves] + [m.to_userid for m, _ in moves]
        wanted += [m.by for m, _ in moves] + [r.actor for r in refused]
        wanted += [str(r.detail.get("to", "")) for r in refused]
        labels = await staff_service.labels(db, wanted)
    entries = [
        {
            "entry": r.entry,
            "name": r.name,
            "stage": r.stage,
            "tags": r.tags,
            "tier": stages.tier_of(settings, r.last_interaction_at, now),
            "from": labels.get(r.entry.from_userid, r.entry.from_userid) or "无",
            "by": ENTERED_BY.get(r.entry.entered_by_kind, r.entry.entered_by_kind),
            "by_who": labels.get(r.entry.entered_by, r.entry.entered_by),
            "at": fmt.when(r.entry.entered_at, tz),
        }
        for r in rows
    ]
    history = [
        {
            "at": fmt.when(m.at, tz),
            "customer": name,
            "euid": m.external_userid,
            "kind": KIND_LABEL.get(m.kind, m.kind),
            "from": labels.get(m.from_userid, m.from_userid),
            "to": labels.get(m.to_userid, m.to_userid),
            "status": MOVE_STATUS.get(m.status, m.status),
            "failed": m.status == pool.FAILED,
            "reason": m.reason,
            "by": labels.get(m.by, m.by),
        }
        for m, name in moves
    ]
    refusals = [
        {
            "at": fmt.when(r.created_at, tz),
            "customer": names.get(r.target) or r.target,
            "euid": r.target,
            "kind": KIND_LABEL.get(r.action.removeprefix("pool_"), r.action),
            "by": labels.get(r.actor, r.actor),
            "to": labels.get(str(r.detail.get("to", "")), str(r.detail.get("to", ""))),
            "reason": str(r.detail.get("reason", "")),
        }
        for r in refused
    ]
    return {
        "departments": departments,
        "department": scope.department,
        "entries": entries,
        "total": total,
        "filters": filters,
        "error": error,
        "members": [(m.userid, staff_service.label_of(m, m.userid)) for m in members],
        "claims": [
            (staff_service.label_of(m, m.userid), claims.get(m.userid, 0)) for m in members
        ],
        "limit": settings.pool_daily_claims,
        "history": history,
        "refusals": refusals,
        "stages": settings.stage_names,
        "tiers": stages.tiers(settings),
        "done": request.query.get("done", ""),
        "query": dict(request.query),
    }


@route("GET", "/pool", role=ROLE_SUPERVISOR, nav=Nav("公海", 78))
async def pool_page(request: web.Request) -> web.StreamResponse:
    """The pool, the claims against the daily limit and the move history."""
    return layout.render(request, "console/pool.html", await _context(request))


@route(
    "POST",
    "/pool/{entry_id}/assign",
    role=ROLE_SUPERVISOR,
    sample={"entry_id": "1"},
    form={"userid": "sup2"},
)
async def assign(request: web.Request) -> web.StreamResponse:
    """Assign a pooled customer to a rep in the viewer's departments (WeCom transfer first)."""
    viewer = auth.viewer_of(request)
    settings = request.config_dict[SETTINGS]
    now = request.config_dict[CLOCK].now()
    raw_id = request.match_info["entry_id"]
    userid = str((await request.post()).get("userid", "")).strip()[:64]
    db = request.config_dict[DB]
    try:
        async with db() as session:
            scope = await scope_for(session, viewer)
            entry = await pool_views.pool_entry(
                session,
                int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 10 else 0,
                scope.reps,
            )
            if entry is None:
                raise NotFoundError("公海里没有这位客户（可能刚被领走）")
            if not userid:
                raise UsageError("请选择接手员工")
            taker = await session.get(Staff, userid)
            if taker is None or not scope.allows(userid):
                raise UsageError("只能指派给你部门里的员工")
        take = await pool.take(
            db,
            request.config_dict[WECOM],
            settings,
            external_userid=entry.external_userid,
            taker=taker,
            by=viewer.userid,
            kind="assign",
            now=now,
        )
    except UsageError as exc:
        if isinstance(exc, NotFoundError):
            raise
        context = await _context(request, error=exc.message)
        return layout.render(request, "console/pool.html", context, status=409)
    logger.info("console pool assign customer=%s to=%s", take.external_userid, take.to_userid)
    raise layout.see_other(PAGE, done="assigned")


@route(
    "POST",
    "/pool/add",
    role=ROLE_SUPERVISOR,
    form={"customer": "wmcust2000001", "reason": "长期未成交"},
)
async def add(request: web.Request) -> web.StreamResponse:
    """Move a customer of the viewer's departments into the pool (audited)."""
    viewer = auth.viewer_of(request)
    now = request.config_dict[CLOCK].now()
    form = await request.post()
    ref = str(form.get("customer", "")).strip()[:128]
    reason = str(form.get("reason", "")).strip()[:255]
    back = str(form.get("back", ""))
    if not ref:
        raise UsageError("请填写客户名称或客户 ID")
    async with request.config_dict[DB].begin() as db:
        scope = await scope_for(db, viewer)
        euid = await _find_customer(db, ref, scope)
        entry = await pool.enter(
            db, euid, by_kind="supervisor", by=viewer.userid, reason=reason, now=now
        )
        if entry is None:
            raise UsageError("这位客户已经在公海里了")
        await audit.record(
            db,
            actor=viewer.userid,
            action="console:pool_add",
            target=euid,
            detail={"entry": entry.id, "reason": reason},
        )
    if back == "customer":
        raise layout.see_other(f"/console/customers/{euid}", done="pooled")
    raise layout.see_other(PAGE, done="added")


async def _find_customer(db: Any, ref: str, scope: Scope) -> str:
    """A customer in scope by exact ID or exact name; a clear error when none or several."""
    found = [ref] if await lifecycle_views.in_scope(db, ref, scope.reps) else []
    if not found:
        named = await db.scalars(select(Customer.external_userid).where(Customer.name == ref))
        found = [e for e in named if await lifecycle_views.in_scope(db, e, scope.reps)]
    if not found:
        raise NotFoundError(f"你的部门里没有客户「{ref}」（请填客户名称或客户 ID）")
    if len(found) > 1:
        raise UsageError(f"有 {len(found)} 位客户叫「{ref}」，请改填客户 ID")
    return found[0]
