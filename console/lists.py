"""The lists behind the dashboard's figures (drill-downs), scoped and exportable as CSV."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.keys import DB
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_SUPERVISOR, Customer, FollowRelation
from console import dashboard_data as data
from console import fmt, layout
from console import period as periods
from console.dashboard import escalation_table, followup_table
from console.scope import Scope, request_scope
from console.tables import Table, csv_response

Builder = Callable[
    [AsyncSession, Scope, periods.Period, datetime, ZoneInfo, Any], Awaitable[Table]
]
MESSAGE_KINDS = {
    "in": "客户消息",
    "kf": "微信客服消息",
    "auto": "FAQ 自动回答的消息",
    "handover": "转人工的消息",
}
CUSTOMER_KINDS = {
    "new": "新增客户",
    "lost": "流失客户（客户删除了员工）",
    "deleted": "流失客户（员工删除了客户）",
}


async def _render(
    request: web.Request, build: Builder, *, dated: bool = True
) -> web.StreamResponse:
    tz, now, period = periods.of_request(request)
    async with request.config_dict[DB]() as db:
        scope = await request_scope(db, request)
        table = await build(db, scope, period, now, tz, request.query)
        rep = scope.rep
        who = (await staff_service.labels(db, [rep]))[rep] if rep else ""
    if request.query.get("format") == "csv":
        return csv_response(table, stamp=now.astimezone(tz))
    args = {**period.query_args(), **scope.query_args()}
    csv_args = {**request.query, "format": "csv"}
    context = {
        "table": table,
        "period": period if dated else None,
        "who": who,
        "back": f"/console/?{urlencode(args)}",
        "csv": f"{request.path}?{urlencode(csv_args)}",
        "limit": data.LIST_MAX,
    }
    return layout.render(request, "console/list.html", context)


async def _customers(
    db: AsyncSession, scope: Scope, period: periods.Period, now: datetime, tz: ZoneInfo, query: Any
) -> Table:
    kind = query.get("kind", "new")
    kind = kind if kind in CUSTOMER_KINDS else "new"
    when = FollowRelation.added_at if kind == "new" else FollowRelation.ended_at
    q = (
        select(FollowRelation, Customer.name)
        .join(Customer, Customer.external_userid == FollowRelation.external_userid)
        .where(when >= period.start, when < period.end, scope.where(FollowRelation.userid))
    )
    if kind != "new":
        q = q.where(FollowRelation.status == kind)
    channel = query.get("channel", "")
    if channel:
        q = q.where(FollowRelation.state == ("" if channel == "-" else channel[:64]))
    rows = (await db.execute(q.order_by(when.desc()).limit(data.LIST_MAX))).all()
    labels = await staff_service.labels(db, [r.userid for r, _ in rows])
    title = CUSTOMER_KINDS[kind] + (f" · 渠道 {channel}" if channel and channel != "-" else "")
    table = Table(f"customers-{kind}", title, ("客户", "员工", "渠道", "添加时间", "结束时间"))
    for rel, name in rows:
        table.add(
            name or rel.external_userid,
            labels.get(rel.userid, rel.userid),
            rel.state or "未标记渠道",
            fmt.when(rel.added_at, tz),
            fmt.when(rel.ended_at, tz),
        )
    return table


async def _messages(
    db: AsyncSession, scope: Scope, period: periods.Period, now: datetime, tz: ZoneInfo, query: Any
) -> Table:
    kind = query.get("kind", "in")
    kind = kind if kind in MESSAGE_KINDS else "in"
    rows = (await db.execute(data.messages_query(scope, period.start, period.end, kind))).all()
    labels = await staff_service.labels(db, [m.userid for m, _ in rows])
    table = Table(
        f"messages-{kind}",
        MESSAGE_KINDS[kind],
        ("时间", "客户", "来源", "员工", "内容", "匹配的 FAQ"),
    )
    for msg, name in rows:
        source = {"kf": "微信客服", "archive": "会话存档"}.get(msg.source, msg.source)
        table.add(
            fmt.when(msg.created_at, tz),
            name or msg.external_userid,
            source,
            labels.get(msg.userid, msg.userid),
            msg.text[:200],
            msg.matched_faq or "",
        )
    return table


async def _responses(
    db: AsyncSession, scope: Scope, period: periods.Period, now: datetime, tz: ZoneInfo, query: Any
) -> Table:
    turns = await data.slowest_turns(db, scope, period.start, period.end, limit=data.LIST_MAX)
    names = {
        c.external_userid: c.name
        for c in await db.scalars(
            select(Customer).where(
                Customer.external_userid.in_({t.external_userid for t in turns})
            )
        )
    }
    table = Table("responses", "首次响应（最慢的在前）", ("客户", "客户发问", "首次回复", "等待"))
    for t in turns:
        table.add(
            names.get(t.external_userid) or t.external_userid,
            fmt.when(t.asked_at, tz),
            fmt.when(t.replied_at, tz) or "尚未回复",
            fmt.wait(t.wait),
        )
    return table


async def _escalations(
    db: AsyncSession, scope: Scope, period: periods.Period, now: datetime, tz: ZoneInfo, query: Any
) -> Table:
    return await escalation_table(db, scope, now, tz, limit=data.LIST_MAX)


async def _followups(
    db: AsyncSession, scope: Scope, period: periods.Period, now: datetime, tz: ZoneInfo, query: Any
) -> Table:
    return await followup_table(db, scope, now, tz, limit=data.LIST_MAX)


def _register() -> None:
    from console.registry import route

    for path, build, dated in (
        ("/list/customers", _customers, True),
        ("/list/messages", _messages, True),
        ("/list/responses", _responses, True),
        ("/list/escalations", _escalations, False),
        ("/list/followups", _followups, False),
    ):

        async def handler(
            request: web.Request, build: Builder = build, dated: bool = dated
        ) -> web.StreamResponse:
            return await _render(request, build, dated=dated)

        handler.__doc__ = f"The list behind a dashboard figure ({path})."
        route("GET", path, role=ROLE_SUPERVISOR)(handler)


_register()
