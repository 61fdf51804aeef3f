"""Page 10, the audit log and parked work: who did what (filterable, CSV), callbacks and
effects that kept failing; admins retry or discard a parked effect (audited)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain import audit as audit_service
from bot.domain import staff as staff_service
from bot.domain.models import ROLE_ADMIN, AuditLog, InboxItem
from bot.outbox import effects, kinds
from bot.outbox.model import PARKED, Effect
from console import auth, fmt, layout, period
from console.registry import Nav, route
from console.tables import Table, csv_response

PAGE_SIZE = 100
PARKED_MAX = 200
# Every result an audit row can carry (bot.domain.audit.record callers, UserError.code, the
# command dispatcher's outcomes); an unlisted one would show as raw English on the page.
RESULTS = {
    "ok": "成功", "denied": "被拒绝", "error": "出错", "usage": "用法不对", "not_found": "未找到",
    "unknown": "未知命令", "forbidden": "无权限", "bad_request": "输入有误",
    "ambiguous": "客户不唯一", "wecom_error": "企业微信拒绝", "refused": "被拒绝",
    "failed": "失败", "stale": "已过期", "unauthorized": "未登录", "csrf": "页面已过期",
}  # fmt: skip


def _day(raw: str, tz: ZoneInfo) -> datetime | None:
    day = period.parse_day(raw)
    return None if day is None else datetime.combine(day, time(), tzinfo=tz)


def _detail(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)[:500] if value else ""


@route("GET", "/audit", role=ROLE_ADMIN, nav=Nav("审计与积压", 100))
async def audit_page(request: web.Request) -> web.StreamResponse:
    """The audit log, newest first, filtered by member, action, target and dates."""
    tz = ZoneInfo(request.config_dict[SETTINGS].timezone)
    q = request.query
    filters = {k: q.get(k, "").strip()[:64] for k in ("actor", "action", "target", "from", "to")}
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if filters["actor"]:
        query = query.where(AuditLog.actor == filters["actor"])
    if filters["action"]:
        query = query.where(AuditLog.action.startswith(filters["action"], autoescape=True))
    if filters["target"]:
        query = query.where(AuditLog.target.contains(filters["target"], autoescape=True))
    if (start := _day(filters["from"], tz)) is not None:
        query = query.where(AuditLog.created_at >= start)
    if (end := _day(filters["to"], tz)) is not None:
        query = query.where(AuditLog.created_at < end + timedelta(days=1))
    before = q.get("before", "")
    if before.isdecimal() and len(before) < 12:
        query = query.where(AuditLog.id < int(before))
    csv_wanted = q.get("format") == "csv"
    async with request.config_dict[DB]() as db:
        rows = list(await db.scalars(query.limit(10 * PAGE_SIZE if csv_wanted else PAGE_SIZE)))
        labels = await staff_service.labels(db, [r.actor for r in rows])
    table = Table("audit", "审计日志", ("时间", "操作人", "操作", "对象", "结果", "详情"))
    for row in rows:
        table.add(
            fmt.when(row.created_at, tz),
            labels.get(row.actor, row.actor),
            row.action,
            row.target,
            RESULTS.get(row.result, row.result),
            _detail(row.detail),
        )
    if csv_wanted:
        return csv_response(table, stamp=request.config_dict[CLOCK].now().astimezone(tz))
    more = {**filters, "before": str(rows[-1].id)} if len(rows) == PAGE_SIZE else None
    context = {
        "table": table,
        "filters": filters,
        "tab": "audit",
        "csv": f"/console/audit?{urlencode({**filters, 'format': 'csv'})}",
        "more": f"/console/audit?{urlencode(more)}" if more else "",
    }
    return layout.render(request, "console/audit.html", context)


@route("GET", "/parked", role=ROLE_ADMIN)
async def parked_page(request: web.Request) -> web.StreamResponse:
    """Parked effects (retry / discard) and parked callbacks, filterable by kind."""
    tz = ZoneInfo(request.config_dict[SETTINGS].timezone)
    kind = request.query.get("kind", "").strip()[:128]
    effect_query = select(Effect).where(Effect.status == PARKED).order_by(Effect.id)
    inbox_query = select(InboxItem).where(InboxItem.status == "parked").order_by(InboxItem.id)
    if kind:
        effect_query = effect_query.where(Effect.kind == kind)
        inbox_query = inbox_query.where(InboxItem.kind == kind)
    async with request.config_dict[DB]() as db:
        parked_effects = list(await db.scalars(effect_query.limit(PARKED_MAX)))
        parked_inbox = list(await db.scalars(inbox_query.limit(PARKED_MAX)))
        effect_kinds = sorted(
            set(await db.scalars(select(Effect.kind).where(Effect.status == PARKED).distinct()))
        )
        inbox_kinds = sorted(
            set(
                await db.scalars(
                    select(InboxItem.kind).where(InboxItem.status == "parked").distinct()
                )
            )
        )
    rows = [
        {
            "id": e.id,
            "kind": e.kind,
            "what": str(e.payload.get("what") or e.kind),
            "why": kinds.reason_for(e.payload, e.last_errcode),
            "errcode": e.last_errcode,
            "attempts": e.attempts,
            "created": fmt.when(e.created_at, tz),
        }
        for e in parked_effects
    ]
    callbacks = [
        {
            "id": i.id,
            "kind": i.kind,
            "attempts": i.attempts,
            "error": i.last_error[:300],
            "received": fmt.when(i.received_at, tz),
        }
        for i in parked_inbox
    ]
    context = {
        "effects": rows,
        "callbacks": callbacks,
        "kind": kind,
        "tab": "parked",
        "kinds": sorted(set(effect_kinds) | set(inbox_kinds)),
        "done": request.query.get("done", ""),
    }
    return layout.render(request, "console/parked.html", context)


async def _change(request: web.Request, action: str) -> web.StreamResponse:
    viewer = auth.viewer_of(request)
    raw = request.match_info["id"]
    if not raw.isdecimal() or len(raw) > 9:
        raise web.HTTPNotFound()
    async with request.config_dict[DB].begin() as db:
        change = effects.retry if action == "retry" else effects.discard
        effect = await change(db, int(raw))
        await audit_service.record(
            db,
            actor=viewer.userid,
            action=f"effect_{action}",
            target=raw,
            detail={"kind": effect.kind, "via": "console"},
        )
    raise layout.see_other("/console/parked", done=f"{action}:{raw}")


@route("POST", "/parked/effects/{id}/retry", role=ROLE_ADMIN, sample={"id": "1"}, form={"x": "1"})
async def retry(request: web.Request) -> web.StreamResponse:
    """Give a parked effect another round of attempts (the sender picks it up)."""
    return await _change(request, "retry")


@route(
    "POST", "/parked/effects/{id}/discard", role=ROLE_ADMIN, sample={"id": "2"}, form={"x": "1"}
)
async def discard(request: web.Request) -> web.StreamResponse:
    """Give a parked effect up for good (it stays recorded as discarded)."""
    return await _change(request, "discard")
