"""JSON API for the customer card: profile, tags, notes, follow-ups, escalations.

Every write goes through the bot.domain.rep_actions functions the slash-commands use; the acting
rep always comes from the session, and every customer passes require_customer_access first.
"""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.core.errors import UsageError
from bot.core.keys import CACHE, DB, KB, SETTINGS, WECOM
from bot.domain import audit, customers, escalations, followups, notes, rep_actions, tags
from bot.domain import staff as staff_service
from bot.domain.models import Channel, Escalation, Followup, Staff, Tag
from sidebar import auth, views
from sidebar.views import JSONDict

routes = web.RouteTableDef()

REASON_MAX = escalations.TEXT_MAX
TAG_SYNC_KEY = "sidebar:tag-sync"
TAG_SYNC_TTL = 300.0


async def _customer_in_scope(db: AsyncSession, request: web.Request) -> tuple[Staff, str]:
    """The viewer and the customer id in the URL, once access is checked."""
    staff = await auth.viewer(db, request)
    external_userid = request.match_info["external_userid"]
    await customers.require_customer_access(db, staff, external_userid)
    return staff, external_userid


async def profile(db: AsyncSession, staff: Staff, external_userid: str) -> JSONDict:
    """Everything the customer card shows."""
    customer = await customers.require_customer_access(db, staff, external_userid)
    reps = await customers.followers(db, external_userid)
    follow = await customers.follow_of(db, staff.userid, external_userid)
    if follow is None and reps:
        follow = await customers.follow_of(db, reps[0], external_userid)
    channel = await db.get(Channel, follow.state) if follow and follow.state else None
    now = utcnow()
    open_rows = await db.scalars(
        select(Followup)
        .where(Followup.external_userid == external_userid)
        .order_by(
            Followup.done_at.is_not(None),
            Followup.due_at.is_(None),
            Followup.due_at,
            Followup.id.desc(),
        )  # fmt: skip
        .limit(30)
    )
    escalation_rows = await db.scalars(
        select(Escalation)
        .where(Escalation.external_userid == external_userid)
        .order_by(Escalation.status != escalations.OPEN, Escalation.id.desc())
        .limit(10)
    )
    note_rows = await notes.notes_of(db, external_userid)
    who = await staff_service.labels(db, [*reps, *(n.userid for n in note_rows)])
    card = views.customer_json(customer, follow, reps, channel.name if channel else "")
    return {
        "customer": card | {"followed_by_names": [who.get(u, u) for u in reps]},
        "tags": [views.tag_json(t) for t in await tags.customer_tags(db, external_userid)],
        "notes": [views.note_json(n) | {"author": who.get(n.userid, n.userid)} for n in note_rows],
        "followups": [views.followup_json(f, now) for f in open_rows],
        "escalations": [views.escalation_json(e) for e in escalation_rows],
        "viewer": {"userid": staff.userid, "role": staff.role},
    }


@routes.get("/api/customers/{external_userid}")
async def get_customer(request: web.Request) -> web.Response:
    """The customer card."""
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        data = await profile(db, staff, request.match_info["external_userid"])
    return web.json_response(data)


@routes.get("/api/tags")
async def tag_library(request: web.Request) -> web.Response:
    """The corp tag library by group (re-mirrored from WeCom every few minutes)."""
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
    # Mirror WeCom's library at most every few minutes (tags are also edited in WeCom); the
    # library is read before the transaction that stores it.
    if await request.config_dict[CACHE].set_nx(TAG_SYNC_KEY, "1", TAG_SYNC_TTL):
        library = await request.config_dict[WECOM].get_corp_tag_list()
        async with views.transaction(request) as db:
            await tags.sync_corp_tags(db, library)
    async with views.transaction(request) as db:
        rows = list(await db.scalars(select(Tag).where(Tag.deleted.is_(False))))
    groups: dict[tuple[str, str], list[Tag]] = defaultdict(list)
    for tag in rows:
        groups[(tag.group_id, tag.group_name)].append(tag)
    out = [
        {
            "group_id": gid,
            "group_name": gname,
            "tags": [{"id": t.id, "name": t.name} for t in sorted(items, key=_tag_order)],
        }
        for (gid, gname), items in sorted(groups.items(), key=lambda kv: kv[0][1])
    ]
    return web.json_response({"groups": out, "can_create": tags.can_create(staff)})


def _tag_order(tag: Tag) -> tuple[int, str]:
    return tag.order, tag.name


@routes.post("/api/customers/{external_userid}/tags")
async def change_tags(request: web.Request) -> web.Response:
    """Add and/or remove tags by name; a supervisor's or admin's new name joins the library."""
    data = await views.read_json(request)
    add, remove = views.names_field(data, "add"), views.names_field(data, "remove")
    group = views.text_field(data, "group", "标签组", max_len=tags.NAME_MAX, required=False)
    if not add and not remove:
        raise UsageError("请选择要添加或移除的标签")
    async with views.transaction(request) as db:
        staff, euid = await _customer_in_scope(db, request)
    # Creating a corp tag is a WeCom call: before the transaction that uses it.
    created = await rep_actions.prepare_tags(
        request.config_dict[DB], request.config_dict[WECOM], staff, add,
        group_name=group or tags.DEFAULT_GROUP,
    )  # fmt: skip
    rules = request.config_dict[KB].snapshot.rules.rules
    async with views.transaction(request) as db:
        staff, euid = await _customer_in_scope(db, request)
        change = await rep_actions.change_tags(
            db, staff, euid, add=add, remove=remove, rules=rules
        )
        detail = {"added": change.added, "removed": change.removed, "created": created,
                  "via": "sidebar"}  # fmt: skip
        await audit.record(db, actor=staff.userid, action="tag", target=euid, detail=detail)
        current = [views.tag_json(t) for t in await tags.customer_tags(db, euid)]
    body = {"added": change.added, "removed": change.removed, "created": created, "tags": current}
    return web.json_response(body)


@routes.post("/api/customers/{external_userid}/notes")
async def add_note(request: web.Request) -> web.Response:
    """Write a note about the customer."""
    data = await views.read_json(request)
    text = views.text_field(data, "text", "备注内容", max_len=notes.TEXT_MAX)
    async with views.transaction(request) as db:
        staff, euid = await _customer_in_scope(db, request)
        note = await rep_actions.add_note(db, staff, euid, text)
        await audit.record(db, actor=staff.userid, action="note", target=euid,
                           detail={"note_id": note.id, "via": "sidebar"})  # fmt: skip
    return web.json_response({"note": views.note_json(note)}, status=201)


@routes.post("/api/customers/{external_userid}/followups")
async def add_followup(request: web.Request) -> web.Response:
    """Add a follow-up for the signed-in rep, due at the due field's time or the text's own
    ("明天下午3点回访"), read as /follow reads it."""
    data = await views.read_json(request)
    text = views.text_field(data, "note", "跟进内容", max_len=followups.TEXT_MAX)
    due_text = views.text_field(data, "due_at", "到期时间", max_len=views.DUE_MAX, required=False)
    now = utcnow()
    zone = views.timezone_of(request)
    tz = ZoneInfo(zone)
    rep_actions.read_followup(text, due_text, now=now, tz=tz)  # a bad time: refused first
    async with views.transaction(request) as db:
        staff, euid = await _customer_in_scope(db, request)
        followup = await rep_actions.add_followup(
            db, staff, euid, text, due_text=due_text, now=now, tz=tz
        )
        await audit.record(db, actor=staff.userid, action="followup", target=euid,
                           detail={"followup_id": followup.id, "via": "sidebar"})  # fmt: skip
    body = views.followup_json(followup, now)
    if followup.due_at is not None:
        body["due_text"] = views.describe_due(followup.due_at, zone, now)
    return web.json_response({"followup": body}, status=201)


@routes.post("/api/followups/{followup_id}/done")
async def done_followup(request: web.Request) -> web.Response:
    """Mark a follow-up done (its owner, their supervisor or an admin)."""
    raw_id = request.match_info["followup_id"]
    if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 9):
        raise UsageError("跟进编号必须是数字")
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        followup = await db.get(Followup, int(raw_id))
        if followup is not None:
            await customers.require_customer_access(db, staff, followup.external_userid)
        followup = await followups.done_followup(
            db, followup_id=int(raw_id), by=staff, now=utcnow()
        )
        await audit.record(db, actor=staff.userid, action="followup_done",
                           target=followup.external_userid,
                           detail={"followup_id": followup.id, "via": "sidebar"})  # fmt: skip
    return web.json_response({"followup": views.followup_json(followup, utcnow())})


@routes.post("/api/customers/{external_userid}/escalations")
async def escalate(request: web.Request) -> web.Response:
    """Raise the customer to the rep's supervisors, with a reason."""
    data = await views.read_json(request)
    reason = views.text_field(data, "reason", "升级原因", max_len=REASON_MAX)
    async with views.transaction(request) as db:
        staff, euid = await _customer_in_scope(db, request)
        escalation, _leads = await rep_actions.escalate(
            db, request.config_dict[SETTINGS], staff, euid, reason, now=utcnow()
        )
        await audit.record(db, actor=staff.userid, action="escalate", target=euid,
                           detail={"escalation_id": escalation.id, "via": "sidebar"})  # fmt: skip
    return web.json_response({"escalation": views.escalation_json(escalation)}, status=201)
