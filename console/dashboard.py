"""Page 1, the dashboard: customers won and lost, response times, the FAQ's share, knowledge
gaps, open escalations and overdue follow-ups, per period, department and rep; every figure
links to its list (console.lists) and every table exports as CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.keys import DB
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_SUPERVISOR, Channel, Customer, Escalation, Followup
from console import dashboard_data as data
from console import fmt, layout
from console import period as periods
from console.registry import Nav, route
from console.scope import Scope, department_choices, request_scope
from console.tables import Cell, Table, csv_response, pick
from knowledge import misses
from knowledge.store import KBEntry

TOP = 10  # rows of the escalation and follow-up tables on the dashboard (the lists have all)


def link(path: str, args: dict[str, str], **extra: str) -> str:
    """A console URL keeping the period and narrowing, plus extra parameters."""
    return f"/console{path}?{urlencode({**args, **{k: v for k, v in extra.items() if v}})}"


async def _channel_names(db: AsyncSession) -> dict[str, str]:
    return {c.state: c.name for c in await db.scalars(select(Channel))}


async def build(
    db: AsyncSession, scope: Scope, period: periods.Period, now: Any, tz: ZoneInfo
) -> dict[str, Any]:
    """Every figure, table and chart series of the dashboard."""
    args = {**period.query_args(), **scope.query_args()}
    start, end = period.start, period.end
    names = await _channel_names(db)
    channels = Table("channels", "新增客户（按渠道）", ("渠道", "新增客户"))
    by_channel = await data.new_by_channel(db, scope, start, end)
    for state, n in by_channel:
        label = names.get(state) or (state if state else "未标记渠道")
        channels.add(
            label,
            Cell(n, link("/list/customers", args, kind="new", channel=state or "-"), numeric=True),
        )
    lost = await data.lost_by_kind(db, scope, start, end)
    lost_table = Table("lost", "流失客户", ("类型", "人数"))
    for kind, n in lost.items():
        lost_table.add(
            data.LOST_LABEL[kind], Cell(n, link("/list/customers", args, kind=kind), numeric=True)
        )
    answering = await data.answering(db, scope, start, end)
    waits = await data.first_response(db, scope, start, end)
    reps = await data.per_rep(db, scope, start, end, now)
    labels = await staff_service.labels(db, reps)
    rep_table = Table("reps", "按员工", ("员工", "新增客户", "流失客户", "逾期跟进", "未处理升级"))
    for userid in sorted(reps, key=lambda u: (-reps[u]["new"], u)):
        c = reps[userid]
        rep_args = {**args, "rep": userid}
        rep_table.add(
            labels.get(userid, userid or "（未分配）"),
            Cell(c["new"], link("/list/customers", rep_args, kind="new"), numeric=True),
            Cell(c["lost"], link("/list/customers", rep_args, kind="lost"), numeric=True),
            Cell(c["overdue"], link("/list/followups", rep_args), numeric=True),
            Cell(c["escalations"], link("/list/escalations", rep_args), numeric=True),
        )
    escalations = await escalation_table(db, scope, now, tz, limit=TOP)
    followups = await followup_table(db, scope, now, tz, limit=TOP)
    gaps = await misses.top_gaps(db, limit=TOP, since=start)
    gap_table = Table("gaps", "未解答问题（相似问法已归组）", ("问题", "次数", "相似问法"))
    for g in gaps:
        gap_table.add(g.question, g.count, "；".join(g.examples))
    trend = periods.trend(period)
    buckets = [(p.start, p.end) for p in trend]
    series = {
        "labels": [p.short for p in trend],
        "new": await data.series(db, scope, buckets, lost=False),
        "lost": await data.series(db, scope, buckets, lost=True),
        "channels": [{"name": row[0].value, "value": row[1].value} for row in channels.rows],
    }
    entries = [
        (e.id, e.question)
        for e in await db.scalars(
            select(KBEntry).where(KBEntry.enabled.is_(True)).order_by(KBEntry.position)
        )
    ]
    kpis = [
        ("新增客户", sum(n for _, n in by_channel), link("/list/customers", args, kind="new")),
        ("流失客户", sum(lost.values()), link("/list/customers", args, kind="lost")),
        ("首次响应 p50", fmt.wait(waits.p50), link("/list/responses", args)),
        ("首次响应 p90", fmt.wait(waits.p90), link("/list/responses", args)),
        (
            "FAQ 自动回答率",
            fmt.rate(answering.auto_rate),
            link("/list/messages", args, kind="auto"),
        ),
        (
            "转人工率",
            fmt.rate(answering.handover_rate),
            link("/list/messages", args, kind="handover"),
        ),
        ("客户消息", answering.messages_in, link("/list/messages", args, kind="in")),
        (
            "未处理升级",
            sum(c["escalations"] for c in reps.values()),
            link("/list/escalations", args),
        ),
        ("逾期跟进", sum(c["overdue"] for c in reps.values()), link("/list/followups", args)),
    ]
    return {
        "kpis": kpis,
        "series": series,
        "gaps": [(g, fmt.when(g.last_at, tz)) for g in gaps],
        "entries": entries,
        "tables": [channels, lost_table, rep_table, escalations, followups, gap_table],
        "unanswered": waits.unanswered,
        "args": args,
    }


async def escalation_table(
    db: AsyncSession, scope: Scope, now: Any, tz: ZoneInfo, *, limit: int
) -> Table:
    """Open escalations, oldest first, with how long each has waited."""
    table = Table(
        "escalations", "未处理的升级", ("客户", "员工", "原因", "来源", "发起时间", "已等待")
    )
    rows = (
        await db.execute(
            select(Escalation, Customer.name)
            .outerjoin(Customer, Customer.external_userid == Escalation.external_userid)
            .where(data.open_escalations(scope))
            .order_by(Escalation.created_at)
            .limit(limit)
        )
    ).all()
    labels = await staff_service.labels(db, [e.userid for e, _ in rows])
    for esc, name in rows:
        source = {"rep": "员工", "rule": "关键词规则"}.get(esc.source, esc.source)
        table.add(
            name or esc.external_userid,
            labels.get(esc.userid, esc.userid),
            esc.reason,
            source,
            fmt.when(esc.created_at, tz),
            fmt.wait((now - esc.created_at).total_seconds()),
        )
    return table


async def followup_table(
    db: AsyncSession, scope: Scope, now: Any, tz: ZoneInfo, *, limit: int
) -> Table:
    """Overdue follow-ups, the longest overdue first."""
    table = Table("followups", "逾期的跟进", ("客户", "员工", "跟进事项", "到期时间", "已逾期"))
    rows = (
        await db.execute(
            select(Followup, Customer.name)
            .outerjoin(Customer, Customer.external_userid == Followup.external_userid)
            .where(data.overdue(scope, now))
            .order_by(Followup.due_at)
            .limit(limit)
        )
    ).all()
    labels = await staff_service.labels(db, [f.userid for f, _ in rows])
    for item, name in rows:
        due = item.due_at
        table.add(
            name or item.external_userid,
            labels.get(item.userid, item.userid),
            item.note,
            fmt.when(due, tz),
            fmt.wait((now - due).total_seconds() if due else None),
        )
    return table


@route("GET", "/", role=ROLE_SUPERVISOR, nav=Nav("数据看板", 10))
async def dashboard(request: web.Request) -> web.StreamResponse:
    """The dashboard page, or one of its tables as CSV (?format=csv&table=)."""
    tz, now, period = periods.of_request(request)
    async with request.config_dict[DB]() as db:
        scope = await request_scope(db, request)
        figures = await build(db, scope, period, now, tz)
        departments = await department_choices(db, scope)
        rep_labels = await staff_service.labels(db, scope.reps or [])
    if request.query.get("format") == "csv":
        table = pick(figures["tables"], request.query.get("table", ""))
        return csv_response(table, stamp=now.astimezone(tz))
    context = {
        **figures,
        "departments": departments,
        **periods.filter_bar(period, scope),
        "reps": sorted(rep_labels.items(), key=lambda r: r[1]),
        "chart": figures["series"],
    }
    return layout.render(request, "console/dashboard.html", context)
