"""Page 7, quick replies (话术库): groups, search, create, edit, delete.

The sidebar reads quick replies from the live snapshot (sidebar/assist.py rebuilds its search
when the snapshot's replies change), so a publish here reaches every rep without a restart.
Supervisors see the corp's replies, their departments' and their members' personal ones.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import NotFoundError
from bot.core.keys import DB
from bot.domain import kb_admin, kb_forms
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR
from console import auth, layout
from console.kb_common import form_of, publish, require_confirm
from console.registry import Nav, route
from console.scope import Scope, scope_for
from knowledge.store import KBQuickReply

PAGE = "/console/quick-replies"
QUERY_MAX = 100


def _visible(scope: Scope, reply: KBQuickReply) -> bool:
    """Whether a reply is in the viewer's scope."""
    if reply.scope == "corp" or scope.departments is None:
        return True
    if reply.scope == "department":
        return bool(reply.owner and reply.owner.isdecimal()
                    and int(reply.owner) in scope.departments)  # fmt: skip
    return bool(reply.owner) and scope.allows(reply.owner or "")


@route("GET", "/quick-replies", role=ROLE_SUPERVISOR, nav=Nav("话术库", 70))
async def replies_page(request: web.Request) -> web.StreamResponse:
    """Quick replies by group, searched by title, content or shortcut."""
    q = request.query.get("q", "").strip()[:QUERY_MAX]
    group = request.query.get("group", "").strip()[:100]
    async with request.config_dict[DB]() as db:
        scope = await scope_for(db, auth.viewer_of(request))
        rows = (await db.scalars(
            select(KBQuickReply).order_by(KBQuickReply.position, KBQuickReply.id))).all()
    visible = [r for r in rows if _visible(scope, r)]
    groups: dict[str, int] = {}
    for r in visible:
        groups[r.category] = groups.get(r.category, 0) + 1
    folded = q.lower()
    shown = [
        r for r in visible
        if (not group or r.category == group)
        and (not q or any(folded in (v or "").lower() for v in (r.title, r.content, r.shortcut)))
    ]
    context = {
        "replies": shown, "groups": sorted(groups.items()), "group": group, "q": q,
        "total": len(visible), "scopes": kb_forms.SCOPE_LABEL,
        "can_edit": auth.viewer_of(request).is_admin,
        "saved": request.query.get("saved", ""), "deleted": request.query.get("deleted", ""),
    }  # fmt: skip
    return layout.render(request, "console/quick_replies.html", context)


def _edit_context(request: web.Request, reply: KBQuickReply | None) -> dict[str, object]:
    return {"reply": reply, "creating": reply is None, "scopes": kb_forms.SCOPE_LABEL,
            "saved": request.query.get("saved", ""),
            "can_edit": auth.viewer_of(request).is_admin}  # fmt: skip


@route("GET", "/quick-replies/new", role=ROLE_ADMIN)
async def new_reply_page(request: web.Request) -> web.StreamResponse:
    """An empty quick-reply form."""
    return layout.render(request, "console/quick_reply_edit.html", _edit_context(request, None))


@route("POST", "/quick-replies/new", role=ROLE_ADMIN,
       form={"title": "新话术", "content": "您好，这是新话术", "category": "常用"})  # fmt: skip
async def create_reply(request: web.Request) -> web.StreamResponse:
    """Create a quick reply; reps see it in the sidebar at once."""
    form = await form_of(request)
    reply = kb_forms.quick_reply(form, kb_forms.new_id(form, "qr"))
    async with request.config_dict[DB].begin() as db:
        await kb_admin.save_quick_reply(db, reply, actor=auth.viewer_of(request).userid,
                                        creating=True)  # fmt: skip
    await publish(request)
    raise layout.see_other(f"{PAGE}/{reply.id}", saved="1")


@route("GET", "/quick-replies/{reply_id}", role=ROLE_SUPERVISOR, sample={"reply_id": "qr-xss"})
async def reply_page(request: web.Request) -> web.StreamResponse:
    """One quick reply (a form for admins)."""
    async with request.config_dict[DB]() as db:
        reply = await db.get(KBQuickReply, request.match_info["reply_id"])
        scope = await scope_for(db, auth.viewer_of(request))
    if reply is None or not _visible(scope, reply):
        raise NotFoundError("这条话术不存在（可能已被删除）")
    return layout.render(request, "console/quick_reply_edit.html", _edit_context(request, reply))


@route(
    "POST", "/quick-replies/{reply_id}", role=ROLE_ADMIN, sample={"reply_id": "qr-xss"},
    form={"title": "改过的话术", "content": "改过的内容", "scope": "corp"},
)  # fmt: skip
async def save_reply(request: web.Request) -> web.StreamResponse:
    """Save an edited quick reply and publish it."""
    reply_id = request.match_info["reply_id"]
    reply = kb_forms.quick_reply(await form_of(request), reply_id)
    async with request.config_dict[DB].begin() as db:
        await kb_admin.save_quick_reply(db, reply, actor=auth.viewer_of(request).userid,
                                        creating=False)  # fmt: skip
    await publish(request)
    raise layout.see_other(f"{PAGE}/{reply_id}", saved="1")


@route("POST", "/quick-replies/{reply_id}/delete", role=ROLE_ADMIN,
       sample={"reply_id": "qr-delete-me"}, form={"confirm": "1"})  # fmt: skip
async def delete_reply(request: web.Request) -> web.StreamResponse:
    """Delete a quick reply everywhere."""
    reply_id = request.match_info["reply_id"]
    await require_confirm(request)
    async with request.config_dict[DB].begin() as db:
        await kb_admin.delete_quick_reply(db, reply_id, actor=auth.viewer_of(request).userid)
    await publish(request)
    raise layout.see_other(PAGE, deleted=reply_id)
