"""Reply help: "客户说" suggestions, the latest inbound text, quick replies, feedback.

The pipeline (bot.domain.pipeline) does the matching and the rule actions; this module only checks
who may ask and shapes the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.core.keys import KB
from bot.domain import audit, customers, kb, pipeline, shapes
from bot.domain.models import Message
from knowledge import matcher, quickreply
from knowledge.live import Snapshot
from sidebar import auth, views

routes = web.RouteTableDef()

ASK_MAX = 500
CONTEXT_MAX = 500
QUERY_MAX = 50
QUICK_REPLY_LIMIT = 20
# Inbound texts the server itself received; "sidebar" texts are what a rep typed in.
SERVER_SOURCES = ("kf", "archive")


@dataclass
class QuickReplyCache:
    """The quick-reply search for the current knowledge snapshot, rebuilt when it changes."""

    kb_id: int = 0
    search: quickreply.QuickReplySearch | None = None

    def get(self, snapshot: Snapshot) -> quickreply.QuickReplySearch:
        """The search over this snapshot's quick replies."""
        replies = snapshot.kb.quick_replies
        if self.search is None or self.kb_id != id(replies):
            self.search = quickreply.QuickReplySearch.build(replies)
            self.kb_id = id(replies)
        return self.search


QUICK_REPLIES = web.AppKey("sidebar_quick_replies", QuickReplyCache)


async def _check_customer(request: web.Request) -> tuple[str, str]:
    """(viewer userid, customer id) once access is checked, in a transaction of its own."""
    external_userid = request.match_info["external_userid"]
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        await customers.require_customer_access(db, staff, external_userid)
    return staff.userid, external_userid


@routes.post("/api/customers/{external_userid}/ask")
async def ask(request: web.Request) -> web.Response:
    """What the customer said (typed or pasted by the rep) -> top-3 suggestions and rule hits."""
    data = await views.read_json(request)
    text = views.text_field(data, "text", "客户说的话", max_len=ASK_MAX)
    userid, euid = await _check_customer(request)
    # The pipeline runs its own transaction (SQLite: one writer), so none is open here.
    result = await pipeline.handle_customer_text(
        views.root_app(request), source="sidebar", external_userid=euid, text=text,
        userid=userid,
    )  # fmt: skip
    return web.json_response(
        {
            "message_id": result.message_id,
            "text": result.text,
            "decision": result.decision,
            "suggestions": result.suggestions_json(),
            "rule_hits": result.rule_hits_json(),
            "actions": list(result.actions_taken),
        }
    )


def _decision(suggestions: list[dict[str, Any]]) -> str:
    """ "suggest" when the stored top match was plausible, else "none" (as the matcher decides)."""
    top = float(suggestions[0].get("confidence") or 0) if suggestions else 0.0
    return "suggest" if top >= matcher.SUGGEST_THRESHOLD else "none"


@routes.get("/api/customers/{external_userid}/latest")
async def latest(request: web.Request) -> web.Response:
    """The latest text the server received from the customer (kf or archive), with help."""
    _, euid = await _check_customer(request)
    async with views.transaction(request) as db:
        message = await db.scalar(
            select(Message)
            .where(
                Message.external_userid == euid,
                Message.direction == "in",
                Message.source.in_(SERVER_SOURCES),
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
    if message is None:
        return web.json_response({"message": None})
    snapshot = request.config_dict[KB].snapshot
    body = {
        "id": message.id,
        "source": message.source,
        "text": message.text,
        "at": views.iso(message.created_at),
        "suggestions": message.suggestions or [],
        "decision": _decision(message.suggestions or []),
        "auto_replied": bool(message.auto_replied),
        "rule_hits": shapes.stored_hits_json(message.rule_hits or [], snapshot.rules.rules),
    }
    return web.json_response({"message": body})


@routes.get("/api/quick-replies")
async def quick_replies(request: web.Request) -> web.Response:
    """Quick replies the rep may use, searched and ranked by the customer's last message."""
    query = request.query.get("q", "")[:QUERY_MAX]
    category = request.query.get("category", "")
    context = request.query.get("context", "")[:CONTEXT_MAX]
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
    viewer = quickreply.Viewer(staff.userid, tuple(str(d) for d in staff.departments or []))
    snapshot = request.config_dict[KB].snapshot
    search = request.app[QUICK_REPLIES].get(snapshot)
    visible = [r for r in snapshot.kb.quick_replies if viewer.can_see(r)]
    hits = search.search(query, viewer=viewer, last_message=context, limit=len(visible) or 1)
    replies = [h.reply for h in hits] if (query or context) else visible
    if category:
        replies = [r for r in replies if r.category == category]
    items = [
        {
            "id": r.id,
            "title": r.title,
            "content": r.content,
            "category": r.category,
            "shortcut": r.shortcut or "",
        }  # fmt: skip
        for r in replies[:QUICK_REPLY_LIMIT]
    ]
    categories = sorted({r.category for r in visible if r.category})
    return web.json_response({"items": items, "categories": categories})


@routes.post("/api/feedback")
async def feedback(request: web.Request) -> web.Response:
    """Record the customer's wording as a similar question of the entry the rep sent."""
    data = await views.read_json(request)
    entry_id = views.text_field(data, "entry_id", "知识条目", max_len=64)
    question = views.text_field(data, "question", "客户的问题", max_len=200)
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
    added = await kb.add_similar(views.root_app(request), entry_id, question)
    async with views.transaction(request) as db:
        await audit.record(db, actor=staff.userid, action="kb_similar", target=entry_id,
                           detail={"added": added, "via": "sidebar"})  # fmt: skip
    return web.json_response({"added": added})
