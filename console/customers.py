"""Customers (issue 13): the list filtered by stage, activity tier, tag, department and rep, and
one customer's lifecycle: stage history, SOP runs, pool entries and moves, with "move into the
公海 pool". Only customers with a relation to a rep in the viewer's scope are shown."""

from __future__ import annotations

from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import NotFoundError
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain import lifecycle_views, pool, stages
from bot.domain import staff as staff_service
from bot.domain.lifecycle_models import PoolEntry, SopRule
from bot.domain.models import ROLE_SUPERVISOR, Customer, FollowRelation
from bot.domain.sop import editing, mass, runs
from console import auth, fmt, layout
from console.pool import ENTERED_BY, KIND_LABEL, MOVE_STATUS, filters_of
from console.registry import Nav, route
from console.scope import request_scope, scope_for
from console.stages import BY_KIND, choices
from console.tables import Cell, Table, csv_response

LIMIT = 200
RELATION = {"active": "跟进中", "lost": "客户删除了员工", "deleted": "员工删除了客户"}


@route("GET", "/customers", role=ROLE_SUPERVISOR, nav=Nav("客户", 14))
async def customers_page(request: web.Request) -> web.StreamResponse:
    """Active customers in scope, filterable by stage, tier, tag and name; CSV export."""
    viewer = auth.viewer_of(request)
    settings = request.config_dict[SETTINGS]
    tz = ZoneInfo(settings.timezone)
    now = request.config_dict[CLOCK].now()
    filters = filters_of(request.query)
    async with request.config_dict[DB]() as db:
        scope = await request_scope(db, request)
        total, rows = await lifecycle_views.customers(
            db, settings, userids=scope.reps, filters=filters, now=now, limit=LIMIT
        )
        labels = await staff_service.labels(db, [r.userid for r in rows])
        picks = await choices(db, await scope_for(db, viewer))
    table = Table(
        "customers",
        f"客户（共 {total} 位）",
        ("客户", "跟进员工", "阶段", "活跃度", "最近互动", "标签"),
    )
    for r in rows:
        table.add(
            Cell(r.name, f"/console/customers/{quote(r.external_userid)}"),
            labels.get(r.userid, r.userid),
            r.stage,
            stages.tier_of(settings, r.last_interaction_at, now),
            fmt.when(r.last_interaction_at, tz) or "从未",
            "、".join(r.tags),
        )
    if len(rows) < total:
        table.note = f"只显示最近互动的 {len(rows)} 位，可用筛选缩小范围。"
    if request.query.get("format") == "csv":
        return csv_response(table, stamp=now.astimezone(tz))
    context = {
        **picks,
        "table": table,
        "filters": filters,
        "scope": scope,
        "stages": settings.stage_names,
        "tiers": stages.tiers(settings),
        "csv": f"{request.path}?{urlencode({**request.query, 'format': 'csv'})}",
    }
    return layout.render(request, "console/customers.html", context)


@route(
    "GET",
    "/customers/{external_userid}",
    role=ROLE_SUPERVISOR,
    sample={"external_userid": "wmcust2000001"},
)
async def customer_page(request: web.Request) -> web.StreamResponse:
    """One customer's lifecycle: stage and its history, SOP runs, pool and moves."""
    viewer = auth.viewer_of(request)
    settings = request.config_dict[SETTINGS]
    tz = ZoneInfo(settings.timezone)
    now = request.config_dict[CLOCK].now()
    euid = request.match_info["external_userid"][:64]
    async with request.config_dict[DB]() as db:
        scope = await scope_for(db, viewer)
        if not await lifecycle_views.in_scope(db, euid, scope.reps):
            raise NotFoundError("找不到这位客户，或不在你的部门")
        customer = await db.get(Customer, euid)
        assert customer is not None
        relations = list(
            await db.scalars(
                select(FollowRelation)
                .where(FollowRelation.external_userid == euid)
                .order_by(FollowRelation.added_at)
            )
        )
        stage = await stages.stage_of(db, settings, euid)
        history = await stages.history(db, euid)
        steps = await runs.runs_of_customer(db, euid, limit=100)
        rule_names = {r.id: r.name for r in await db.scalars(select(SopRule))}
        entries = list(
            await db.scalars(
                select(PoolEntry)
                .where(PoolEntry.external_userid == euid)
                .order_by(PoolEntry.entered_at.desc())
            )
        )
        moves = await pool.moves_of(db, euid)
        tags = (await lifecycle_views.tags_of(db, [euid])).get(euid, [])
        wanted = [r.userid for r in relations] + [c.by for c in history]
        wanted += [s.userid for s in steps] + [e.from_userid for e in entries]
        wanted += [e.taken_by for e in entries] + [m.from_userid for m in moves]
        wanted += [m.to_userid for m in moves]
        labels = await staff_service.labels(db, wanted)
    stage_table = Table("stages", "阶段变化", ("时间", "从", "到", "由谁"))
    for c in history:
        who = f"{BY_KIND.get(c.by_kind, c.by_kind)} {labels.get(c.by, c.by)}".strip()
        stage_table.add(fmt.when(c.at, tz), c.from_stage, c.to_stage, who)
    run_table = Table(
        "runs", "SOP 执行记录", ("规则", "步骤", "员工", "到期", "状态", "内容 / 说明")
    )
    for s in steps:
        run_table.add(
            Cell(rule_names.get(s.rule_id, s.rule_id), f"/console/sop/rule/{quote(s.rule_id)}"),
            s.step + 1,
            labels.get(s.userid, s.userid),
            fmt.when(s.due_at, tz),
            mass.with_mass(editing.STATUS_LABEL.get(s.status, s.status), s),
            s.note,
        )
    pool_table = Table("pool", "公海与转接", ("时间", "事件", "员工", "状态 / 原因"))
    for e in entries:
        pool_table.add(
            fmt.when(e.entered_at, tz),
            f"移入公海（{ENTERED_BY.get(e.entered_by_kind, e.entered_by_kind)}）",
            labels.get(e.from_userid, e.from_userid),
            e.reason,
        )
    for m in moves:
        pool_table.add(
            fmt.when(m.at, tz),
            KIND_LABEL.get(m.kind, m.kind),
            f"{labels.get(m.from_userid, m.from_userid)} → {labels.get(m.to_userid, m.to_userid)}",
            f"{MOVE_STATUS.get(m.status, m.status)} {m.reason}".strip(),
        )
    pool_table.rows.sort(key=lambda row: str(row[0].value), reverse=True)
    context = {
        "customer": customer,
        "stage": stage,
        "tags": tags,
        "tier": stages.tier_of(settings, customer.last_interaction_at, now),
        "last": fmt.when(customer.last_interaction_at, tz) or "从未",
        "relations": [
            (
                labels.get(r.userid, r.userid),
                RELATION.get(r.status, r.status),
                fmt.when(r.added_at, tz),
            )
            for r in relations
        ],
        "pooled": any(e.status == pool.OPEN for e in entries),
        "tables": [stage_table, run_table, pool_table],
        "done": request.query.get("done", ""),
    }
    return layout.render(request, "console/customer.html", context)
