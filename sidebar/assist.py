"""Reply help: "客户说" suggestions, the latest inbound text, quick replies, feedback.

The pipeline (bot.domain.pipeline) does the matching and the rule actions; this module only checks
who may ask and shapes the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import CACHE, KB, SETTINGS
from bot.domain import answers, customers, kb, pipeline, proposals, shapes
from bot.domain.models import Message
from knowledge import quickreply
from knowledge.live import Snapshot
from sidebar import auth, kb_search, views

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
    async with views.transaction(request) as db:
        found = await proposals.marks(db, result.text)
    return web.json_response(
        {
            "message_id": result.message_id,
            "text": result.text,
            "decision": result.decision,
            "suggestions": proposals.marked(result.suggestions_json(), found),
            "rule_hits": result.rule_hits_json(),
            "actions": list(result.actions_taken),
        }
    )


def _decision(suggestions: list[dict[str, Any]], snapshot: Snapshot) -> str:
    """ "suggest" when the stored top match was plausible, else "none" (as the matcher decides
    with this KB's own calibration)."""
    top = float(suggestions[0].get("confidence") or 0) if suggestions else 0.0
    return "suggest" if top >= snapshot.calibration.suggest_threshold else "none"


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
        reply_status = await answers.status(db, message) if message is not None else None
        found = await proposals.marks(db, message.text) if message is not None else {}
    if message is None:
        return web.json_response({"message": None})
    snapshot = request.config_dict[KB].snapshot
    body = {
        "id": message.id,
        "source": message.source,
        "text": message.text,
        "at": views.iso(message.created_at),
        "suggestions": proposals.marked(message.suggestions or [], found),
        "decision": _decision(message.suggestions or [], snapshot),
        # Said from the answer's delivery, never from the decision (a handover sends nothing).
        "reply_status": reply_status,
        "auto_replied": reply_status == "sent",
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


def _message_id(data: dict[str, Any]) -> int:
    """The message a pick answers: a positive integer, or a clear 400."""
    value = data.get("message_id")
    if isinstance(value, bool) or not isinstance(value, int):
        value = 0
    if not 0 < value <= kb_search.MESSAGE_ID_MAX:
        raise UsageError("请指明这个答案回复的是哪条客户消息（message_id）")
    return value


@routes.post("/api/feedback")
async def feedback(request: web.Request) -> web.Response:
    """A rep's pick for a customer message becomes a proposal (similar question, once accepted).

    The wording is the stored message's text; the entry must have been suggested for it, or
    shown to this rep by a KB search for that message (sidebar/kb_search.py).
    """
    data = await views.read_json(request)
    entry_id = views.text_field(data, "entry_id", "知识条目", max_len=64)
    message_id = _message_id(data)
    app = views.root_app(request)
    floor = request.config_dict[KB].snapshot.calibration.suggest_threshold
    quorum = request.config_dict[SETTINGS].kb_proposal_quorum
    async with views.transaction(request) as db:
        staff = await auth.viewer(db, request)
        found = await kb_search.searched(request.config_dict[CACHE], staff.userid, message_id)
        message = await db.get(Message, message_id)
        if message is None or message.direction != "in":
            raise NotFoundError("没有这条客户消息")
        await customers.require_customer_access(db, staff, message.external_userid)
        outcome = await proposals.propose(
            db, staff, message_id=message_id, entry_id=entry_id, floor=floor, quorum=quorum,
            searched=found,
        )
        body = proposals.as_json(outcome.proposal, quorum)
    # After commit: an accepted pick (the reps quorum) goes into every worker's index.
    await kb.apply_change(app, outcome.change)
    return web.json_response({"proposal": body, "applied": outcome.change.kind != "none"})
