"""Customer stages (issue 13): the funnel and the conversion between stages per period,
department and rep (ECharts), each figure linked to its customers; the stages per rep; and the
lifecycle settings, read-only, with where to change them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.keys import DB, SETTINGS
from bot.core.settings import Settings
from bot.domain import lifecycle_views, stages
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_SUPERVISOR, Staff
from console import auth, fmt, layout
from console import period as periods
from console.registry import Nav, route
from console.scope import Scope, department_choices, request_scope, scope_for
from console.tables import Cell, Table, csv_response, pick

BY_KIND = {"rep": "员工", "sop": "SOP 规则", "system": "系统"}


def link(path: str, args: dict[str, str], **extra: str) -> str:
    """A console URL keeping the narrowing (and period), plus extra parameters."""
    return f"/console{path}?{urlencode({**args, **{k: v for k, v in extra.items() if v}})}"


async def choices(db: AsyncSession, scope: Scope) -> dict[str, Any]:
    """The departments and reps the viewer may narrow to."""
    members = (await db.scalars(select(Staff).where(scope.where(Staff.userid)))).all()
    reps = {m.userid: staff_service.label_of(m, m.userid) for m in members}
    return {
        "departments": await department_choices(db, scope),
        "reps": sorted(reps.items(), key=lambda r: r[1]),
    }


def lifecycle_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """(what, current value, where to change it) of the lifecycle's settings."""
    high, silent = settings.activity_days
    policy = settings.departure_policy or (
        "（空）主管收到通知后在应用对话里用 /transfer 或 /departpool 决定"
    )
    return [
        ("客户阶段（漏斗顺序）", " → ".join(settings.stage_names), "SIDEKICK_STAGES"),
        (
            "活跃度分档",
            f"{high} 天内高活跃，{silent} 天内中度互动，更久为沉默{silent}天，从未互动为未互动",
            "SIDEKICK_ACTIVITY_WINDOWS",
        ),
        ("SOP 调度间隔", f"{settings.sop_interval:g} 秒", "SIDEKICK_SOP_INTERVAL"),
        (
            "公海每日领取上限",
            f"{settings.pool_daily_claims} 位 / 人",
            "SIDEKICK_POOL_DAILY_CLAIMS",
        ),
        ("员工离职后的客户", policy, "SIDEKICK_DEPARTURE_POLICY"),
        ("时区（发送时段与「今天」）", settings.timezone, "SIDEKICK_TIMEZONE"),
    ]


async def build(
    db: AsyncSession, settings: Settings, scope: Scope, period: periods.Period
) -> dict[str, Any]:
    """The funnel, conversion and per-rep tables, and the chart series."""
    args = scope.query_args()
    dated = {**period.query_args(), **args}
    names = settings.stage_names
    funnel = await stages.funnel(
        db, settings, userids=scope.reps, since=period.start, until=period.end
    )
    current = Table("current", "当前阶段分布（跟进中的客户）", ("阶段", "客户数"))
    for name in names:
        current.add(
            name, Cell(funnel.current[name], link("/customers", args, stage=name), numeric=True)
        )
    conversion = Table(
        "conversion",
        f"本周期阶段转化（{period.label}）",
        ("从", "到", "到达前一阶段", "到达后一阶段", "转化率"),
    )
    conversion.note = (
        f"到达：本周期内进入该阶段或更后阶段的客户；「{names[0]}」为本周期有阶段"
        "变化的客户。转化率 = 到达后一阶段 / 到达前一阶段。"
    )
    for a, b in zip(names, names[1:], strict=False):
        conversion.add(
            a,
            b,
            Cell(
                funnel.reached[a],
                link("/stages/reached", dated, stage=a) if a != names[0] else "",
                numeric=True,
            ),
            Cell(funnel.reached[b], link("/stages/reached", dated, stage=b), numeric=True),
            fmt.rate(funnel.conversion[f"{a}→{b}"]),
        )
    per_rep = await lifecycle_views.stages_by_rep(db, settings, userids=scope.reps)
    labels = await staff_service.labels(db, per_rep)
    reps = Table("reps", "各员工客户阶段", ("员工", *names))
    for userid in sorted(per_rep, key=lambda u: labels.get(u, u)):
        reps.add(
            labels.get(userid, userid),
            *(
                Cell(
                    per_rep[userid][name],
                    link("/customers", {**args, "rep": userid}, stage=name),
                    numeric=True,
                )
                for name in names
            ),
        )
    chart = {
        "stages": list(names),
        "reached": [funnel.reached[n] for n in names],
        "current": [funnel.current[n] for n in names],
        "conversion": [
            {"name": k, "value": None if v is None else round(v * 100, 1)}
            for k, v in funnel.conversion.items()
        ],
    }
    lost = link("/list/customers", dated, kind="lost")
    return {
        "tables": [current, conversion, reps],
        "chart": chart,
        "lost": funnel.lost,
        "lost_link": lost,
        "args": dated,
    }


@route("GET", "/stages", role=ROLE_SUPERVISOR, nav=Nav("客户阶段", 12))
async def stages_page(request: web.Request) -> web.StreamResponse:
    """The stage funnel and conversion, or one of its tables as CSV (?format=csv&table=)."""
    settings = request.config_dict[SETTINGS]
    tz, now, period = periods.of_request(request)
    async with request.config_dict[DB]() as db:
        scope = await request_scope(db, request)
        figures = await build(db, settings, scope, period)
        picks = await choices(db, await scope_for(db, auth.viewer_of(request)))
    if request.query.get("format") == "csv":
        table = pick(figures["tables"], request.query.get("table", ""))
        return csv_response(table, stamp=now.astimezone(tz))
    context = {
        **figures,
        **picks,
        **periods.filter_bar(period, scope),
        "settings_rows": lifecycle_settings(settings),
    }
    return layout.render(request, "console/stages.html", context)


@route("GET", "/stages/reached", role=ROLE_SUPERVISOR)
async def reached_page(request: web.Request) -> web.StreamResponse:
    """The customers who entered a stage in the period (behind a funnel figure)."""
    settings = request.config_dict[SETTINGS]
    tz, now, period = periods.of_request(request)
    stage = request.query.get("stage", "").strip()[:32] or settings.stage_names[-1]
    async with request.config_dict[DB]() as db:
        scope = await request_scope(db, request)
        rows = await lifecycle_views.reached(
            db, settings, stage, userids=scope.reps, since=period.start, until=period.end
        )
        labels = await staff_service.labels(db, [c.by for c, _ in rows])
    stage = stages.check_stage(settings, stage)
    table = Table(
        "reached", f"进入「{stage}」的客户（{period.label}）", ("客户", "从", "到", "由谁", "时间")
    )
    for change, name in rows:
        who = BY_KIND.get(change.by_kind, change.by_kind)
        by = labels.get(change.by, change.by)
        table.add(
            Cell(name, f"/console/customers/{quote(change.external_userid)}"),
            change.from_stage,
            change.to_stage,
            f"{who} {by}".strip(),
            fmt.when(change.at, tz),
        )
    if request.query.get("format") == "csv":
        return csv_response(table, stamp=now.astimezone(tz))
    args = {**period.query_args(), **scope.query_args()}
    context = {
        "table": table,
        "back": link("/stages", args),
        "csv": f"{request.path}?{urlencode({**request.query, 'format': 'csv'})}",
    }
    return layout.render(request, "console/stage_list.html", context)
