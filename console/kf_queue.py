"""Page 8, the 微信客服 handover queue: who waits for a person, for how long, and who has them.

Supervisors claim a conversation for themselves or assign it to a member of their departments;
the move (kf/service_state/trans to 3) goes through the outbox as kf.assign. The page polls
itself for JSON (Accept: application/json) every few seconds, so it stays live without a
reload; a poll is one indexed query on the open handovers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import NotFoundError, PermissionDeniedError, UsageError
from bot.core.keys import CLOCK, DB
from bot.domain import audit, kf_queue
from bot.domain.models import ROLE_SUPERVISOR, Staff
from console import auth, errors, forms, layout
from console.registry import Nav, route
from console.scope import scope_for

PAGE = "/console/kf"
POLL_SECONDS = 5
LONG_WAIT = 300  # seconds; longer waits are shown in red
STATUS_LABEL = {"waiting": "排队中", "moving": "正在转接", "held": "接待中",
                "assigning": "正在分配", "failed": "分配失败"}  # fmt: skip


def _item(item: kf_queue.QueueItem, names: dict[str, str], now: datetime) -> dict[str, Any]:
    """One row as the page (and its script) shows it."""
    until = item.taken_at if item.status in ("held", "assigning") and item.taken_at else now
    waited = max(0, int((until - item.requested_at).total_seconds()))
    return {
        "id": item.id, "customer": item.customer, "question": item.question,
        "reason": item.reason, "status": item.status,
        "status_label": STATUS_LABEL.get(item.status, item.status),
        "servicer": item.servicer, "servicer_name": names.get(item.servicer, item.servicer),
        "assigned_by": names.get(item.assigned_by, item.assigned_by), "error": item.error,
        "waited": waited, "ticking": until is now, "long": waited >= LONG_WAIT,
    }  # fmt: skip


async def _queue(request: web.Request) -> dict[str, Any]:
    viewer = auth.viewer_of(request)
    async with request.config_dict[DB]() as db:
        scope = await scope_for(db, viewer)
        items = await kf_queue.open_items(db, scope.reps)
        servicers = (await db.scalars(kf_queue.servicer_filter(scope.reps))).all()
        names = {s.userid: s.name or s.userid for s in await db.scalars(select(Staff))}
    now = request.config_dict[CLOCK].now()
    rows = [_item(i, names, now) for i in items]
    return {
        "items": rows, "me": viewer.userid, "poll": POLL_SECONDS,
        "servicers": [{"userid": s.userid, "name": s.name or s.userid} for s in servicers],
        "waiting": sum(1 for r in rows if r["status"] in ("waiting", "moving", "failed")),
    }  # fmt: skip


@route("GET", "/kf", role=ROLE_SUPERVISOR, nav=Nav("客服接待", 80))
async def queue_page(request: web.Request) -> web.StreamResponse:
    """The open handovers, longest waiting first; JSON for the page's own poll."""
    data = await _queue(request)
    if errors.wants_json(request):
        response = web.json_response(data)
    else:
        response = layout.render(request, "console/kf_queue.html",
                                 {"queue": data, "saved": request.query.get("saved", "")})
    response.headers["Vary"] = "Accept"
    return response


async def _act(request: web.Request, servicer: str, action: str) -> web.StreamResponse:
    viewer = auth.viewer_of(request)
    try:
        handover_id = int(request.match_info["handover_id"])
    except ValueError:
        raise NotFoundError("找不到这个会话") from None
    async with request.config_dict[DB].begin() as db:
        scope = await scope_for(db, viewer)
        if not scope.allows(servicer):
            raise PermissionDeniedError("只能分配给自己部门的成员")
        if not await kf_queue.visible(db, handover_id, scope.reps):
            raise NotFoundError("这个会话已结束、已被其他部门接待或不存在，请刷新")
        notice = ""
        if servicer != viewer.userid:
            notice = (f"【微信客服】{viewer.name or viewer.userid} 把一位客户分配给你接待，"
                      "请在企业微信「微信客服」中回复。")  # fmt: skip
        row = await kf_queue.assign(db, handover_id, servicer=servicer, by=viewer.userid,
                                    now=request.config_dict[CLOCK].now(), notice=notice)
        await audit.record(db, actor=viewer.userid, action=f"console:kf.{action}",
                           target=str(handover_id), detail={
                               "servicer": servicer, "open_kfid": row.open_kfid,
                               "external_userid": row.external_userid})  # fmt: skip
    if errors.wants_json(request):
        return web.json_response({"ok": True})
    raise layout.see_other(PAGE, saved=action)


@route("POST", "/kf/{handover_id}/claim", role=ROLE_SUPERVISOR, sample={"handover_id": "1"},
       form={"go": "1"})  # fmt: skip
async def claim(request: web.Request) -> web.StreamResponse:
    """Take a conversation yourself."""
    return await _act(request, auth.viewer_of(request).userid, "claim")


@route("POST", "/kf/{handover_id}/assign", role=ROLE_SUPERVISOR, sample={"handover_id": "1"},
       form={"servicer": "rep2"})  # fmt: skip
async def assign(request: web.Request) -> web.StreamResponse:
    """Give a conversation to a member of your departments."""
    servicer = forms.text(await request.post(), "servicer", 64)
    if not servicer:
        raise UsageError("请选择接待成员")
    return await _act(request, servicer, "assign")
