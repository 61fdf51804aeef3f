"""The proposals queue: reps' picks waiting for review; accept, reject or undo, in bulk.

The role that may decide is the one the /accept commands use (bot.domain.proposals.DECIDE_ROLE).
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError, UserError
from bot.core.keys import DB, KB, SETTINGS
from bot.domain import proposals
from console import auth, layout
from console.kb_common import publish
from console.registry import route

logger = logging.getLogger(__name__)

PAGE = "/console/kb/proposals"
LIST_MAX = 200
BULK_MAX = 200
ACTIONS = {"accept": proposals.accept, "reject": proposals.reject, "undo": proposals.undo}
DONE_LABEL = {"accept": "采纳", "reject": "驳回", "undo": "撤销"}


@route("GET", "/kb/proposals", role=proposals.DECIDE_ROLE)
async def proposals_page(request: web.Request) -> web.StreamResponse:
    """Proposals in one status, the most supported first."""
    status = request.query.get("status", proposals.PENDING)
    if status not in proposals.STATUS_LABEL:
        status = proposals.PENDING
    async with request.config_dict[DB]() as db:
        rows = await proposals.listing(db, status=status, limit=LIST_MAX)
    kb = request.config_dict[KB].snapshot.kb
    items = [
        {"p": p, "entry": kb.entry(p.entry_id), "reps": len(p.reps or [])} for p in rows
    ]
    context = {
        "items": items, "status": status, "statuses": proposals.STATUS_LABEL, "tab": "proposals",
        "quorum": request.config_dict[SETTINGS].kb_proposal_quorum,
        "done": {k: request.query.get(k, "") for k in ("n", "action", "failed")},
        "done_label": DONE_LABEL.get(request.query.get("action", ""), ""),
    }  # fmt: skip
    return layout.render(request, "console/kb_proposals.html", context)


async def _decide(db: AsyncSession, action: str, number: int, by: str) -> proposals.Change:
    """One decision in its own savepoint: a proposal decided meanwhile fails alone."""
    async with db.begin_nested():
        outcome = await ACTIONS[action](db, number, by=by)
    return outcome.change


@route("POST", "/kb/proposals/decide", role=proposals.DECIDE_ROLE,
       form={"action": "reject", "id": "1"})  # fmt: skip
async def decide(request: web.Request) -> web.StreamResponse:
    """Accept, reject or undo the ticked proposals; the accepted go live in every worker."""
    posted = await request.post()
    action = str(posted.get("action", ""))
    if action not in ACTIONS:
        raise UsageError("请选择操作：采纳、驳回或撤销")
    raw = [str(v) for v in posted.getall("id", [])]
    if not raw:
        raise UsageError("请先勾选要处理的提议")
    if len(raw) > BULK_MAX or not all(v.isdecimal() and len(v) < 10 for v in raw):
        raise UsageError(f"提议编号不对（一次最多 {BULK_MAX} 条）")
    by = auth.viewer_of(request).userid
    changed, failed, done = False, 0, 0
    async with request.config_dict[DB].begin() as db:
        for number in dict.fromkeys(int(v) for v in raw):
            try:
                change = await _decide(db, action, number, by)
            except UserError:
                failed += 1  # decided by someone else meanwhile: the rest still go through
                continue
            done += 1
            changed = changed or change.kind != "none"
    if changed:
        await publish(request)  # one rebuild for the whole batch
    logger.info("console proposals %s by=%s done=%d failed=%d", action, by, done, failed)
    status = proposals.PENDING if action != "undo" else str(posted.get("status", "accepted"))
    raise layout.see_other(PAGE, status=status, action=action, n=str(done), failed=str(failed))
