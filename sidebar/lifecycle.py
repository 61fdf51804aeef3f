"""Sidebar JSON API of the customer lifecycle: stage picker, SOP tasks and the timeline.

The same services as the slash-commands (bot.domain.stages, sop.runs, timeline); the acting
rep comes from the session and every customer passes require_customer_access first.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError
from bot.core.keys import CLOCK, SETTINGS
from bot.domain import audit, customers, stages, timeline
from bot.domain.lifecycle_models import SopRule, SopRun
from bot.domain.sop import runs
from sidebar import auth, views
from sidebar.views import JSONDict

routes = web.RouteTableDef()


def _int(request: web.Request, name: str, default: int, top: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise UsageError(f"参数 {name} 必须是数字")
    # A number past the cap means "as many as allowed"; its length is checked before int().
    return top if len(raw) > 6 else min(int(raw), top)


async def _task_json(db: AsyncSession, run: SopRun) -> JSONDict:
    rule = await db.get(SopRule, run.rule_id)
    step = rule.steps[run.step] if rule and run.step < len(rule.steps) else {}
    link = next((a.get("link") for a in step.get("actions") or []
                 if a.get("type") == "task" and a.get("link")), None)  # fmt: skip
    return {"id": run.id, "rule": rule.name if rule else run.rule_id, "text": run.note,
            "link": link, "due_at": views.iso(run.due_at)}  # fmt: skip


@routes.get("/api/customers/{external_userid}/lifecycle")
async def lifecycle(request: web.Request) -> web.Response:
    """The customer's stage (and the choices), activity tier and the viewer's SOP tasks."""
    settings = request.config_dict[SETTINGS]
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        euid = request.match_info["external_userid"]
        customer = await customers.require_customer_access(db, staff, euid)
        tasks = await runs.tasks_of(db, staff.userid, external_userid=euid)
        body = {
            "stage": await stages.stage_of(db, settings, euid),
            "stages": list(settings.stage_names),
            "tier": stages.tier_of(settings, customer.last_interaction_at,
                                   request.config_dict[CLOCK].now()),
            "tasks": [await _task_json(db, run) for run in tasks],
        }
    return web.json_response(body)


@routes.post("/api/customers/{external_userid}/stage")
async def change_stage(request: web.Request) -> web.Response:
    """Move the customer to another stage (kept in history)."""
    data = await views.read_json(request)
    wanted = views.text_field(data, "stage", "阶段", max_len=32)
    settings = request.config_dict[SETTINGS]
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        euid = request.match_info["external_userid"]
        await customers.require_customer_access(db, staff, euid)
        change = await stages.change_stage(db, settings, euid, wanted, by_kind="rep",
                                           by=staff.userid, now=request.config_dict[CLOCK].now())
        await audit.record(db, actor=staff.userid, action="stage", target=euid,
                           detail={"stage": wanted, "via": "sidebar"})  # fmt: skip
        stage = await stages.stage_of(db, settings, euid)
    return web.json_response({"stage": stage, "changed": change is not None})


@routes.post("/api/sop/runs/{run_id}/sent")
async def task_sent(request: web.Request) -> web.Response:
    """The rep sent an SOP task's content (sendChatMessage succeeded): the task is done."""
    raw = request.match_info["run_id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise UsageError("任务编号必须是数字")
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        run = await db.get(SopRun, int(raw))
        if run is not None:
            await customers.require_customer_access(db, staff, run.external_userid)
        run = await runs.complete_task(db, staff, int(raw), now=request.config_dict[CLOCK].now())
        await audit.record(db, actor=staff.userid, action="sop_task_sent",
                           target=run.external_userid, detail={"run_id": run.id})  # fmt: skip
    return web.json_response({"id": run.id, "status": run.status})


@routes.get("/api/customers/{external_userid}/timeline")
async def customer_timeline(request: web.Request) -> web.Response:
    """One page of the customer's timeline, newest first."""
    offset = _int(request, "offset", 0, 100_000)
    limit = _int(request, "limit", 20, timeline.PAGE_MAX)
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        euid = request.match_info["external_userid"]
        await customers.require_customer_access(db, staff, euid)
        entries, more = await timeline.page(db, euid, offset=offset, limit=limit)
    items = [{"kind": e.kind, "at": views.iso(e.at), "title": e.title, "text": e.text,
              "by": e.by, **e.extra} for e in entries]  # fmt: skip
    return web.json_response({"items": items, "more": more, "next": offset + len(items)})



