"""Page 2, the knowledge base: search, view, create, edit and delete FAQ entries.

Supervisors view; admins edit. A saved change is audited, bumps the KB revision and is
published to every worker before the page answers (console.kb_common.publish).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, or_, select

from bot.core.errors import NotFoundError
from bot.core.keys import DB, KB
from bot.domain import kb_admin, kb_forms
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR
from console import auth, layout
from console.kb_common import form_of, publish, require_confirm
from console.registry import Nav, route
from knowledge import store_edit
from knowledge.store import KBEntry, KBSimilarQuestion

PAGE = "/console/kb"
PER_PAGE = 50
QUERY_MAX = 100


def _page_number(raw: str) -> int:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 6 else 1


@route("GET", "/kb", role=ROLE_SUPERVISOR, nav=Nav("知识库", 20))
async def kb_page(request: web.Request) -> web.StreamResponse:
    """FAQ entries, searched by question, similar question, answer or id, by category."""
    q = request.query.get("q", "").strip()[:QUERY_MAX]
    category = request.query.get("category", "").strip()[:100]
    page = _page_number(request.query.get("page", "1"))
    query = select(KBEntry)
    if q:
        similar = select(KBSimilarQuestion.entry_id).where(
            KBSimilarQuestion.question.contains(q, autoescape=True)
        )
        query = query.where(or_(
            KBEntry.question.contains(q, autoescape=True),
            KBEntry.answer.contains(q, autoescape=True),
            KBEntry.id.contains(q, autoescape=True),
            KBEntry.id.in_(similar),
        ))  # fmt: skip
    if category:
        query = query.where(KBEntry.category == category)
    async with request.config_dict[DB]() as db:
        total = int(await db.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = (await db.scalars(
            query.order_by(KBEntry.position, KBEntry.id)
            .offset((page - 1) * PER_PAGE).limit(PER_PAGE)
        )).all()  # fmt: skip
        counts = {entry_id: n for entry_id, n in (await db.execute(
            select(KBSimilarQuestion.entry_id, func.count())
            .where(KBSimilarQuestion.entry_id.in_([r.id for r in rows]))
            .group_by(KBSimilarQuestion.entry_id)
        )).all()}  # fmt: skip
        categories = [c for c in await db.scalars(
            select(KBEntry.category).distinct().order_by(KBEntry.category)) if c]  # fmt: skip
    calibration = request.config_dict[KB].snapshot.calibration
    context = {
        "entries": rows, "similar_counts": counts, "total": total, "page": page,
        "pages": max(1, -(-total // PER_PAGE)), "q": q, "category": category,
        "categories": categories, "can_edit": auth.viewer_of(request).is_admin,
        "saved": request.query.get("saved", ""), "deleted": request.query.get("deleted", ""),
        "calibration": calibration.status, "tab": "entries",
        "kinds": kb_forms.KIND_LABEL,
    }  # fmt: skip
    return layout.render(request, "console/kb.html", context)


def _entry_context(request: web.Request, entry: object, *, creating: bool) -> dict[str, object]:
    return {
        "entry": entry, "creating": creating, "can_edit": auth.viewer_of(request).is_admin,
        "kinds": kb_forms.KIND_LABEL, "saved": request.query.get("saved", ""), "tab": "entries",
    }  # fmt: skip


@route("GET", "/kb/new", role=ROLE_ADMIN)
async def new_entry_page(request: web.Request) -> web.StreamResponse:
    """An empty entry form."""
    return layout.render(request, "console/kb_entry.html",
                         _entry_context(request, None, creating=True))  # fmt: skip


@route("POST", "/kb/new", role=ROLE_ADMIN,
       form={"question": "新问题怎么问", "answer": "新答案", "enabled": "1"})  # fmt: skip
async def create_entry(request: web.Request) -> web.StreamResponse:
    """Create an entry; it answers customers in every worker from now on."""
    form = await form_of(request)
    entry = kb_forms.entry(form, kb_forms.new_id(form, "faq"))
    async with request.config_dict[DB].begin() as db:
        await kb_admin.save_entry(db, entry, actor=auth.viewer_of(request).userid, creating=True)
    await publish(request)
    raise layout.see_other(f"{PAGE}/entries/{entry.id}", saved="1")


@route("GET", "/kb/entries/{entry_id}", role=ROLE_SUPERVISOR, sample={"entry_id": "faq-xss"})
async def entry_page(request: web.Request) -> web.StreamResponse:
    """One entry: its questions, answer, attachment, keywords; a form for admins."""
    async with request.config_dict[DB]() as db:
        entry = await store_edit.get_entry(db, request.match_info["entry_id"])
    if entry is None:
        raise NotFoundError("这个知识条目不存在（可能已被删除）")
    return layout.render(request, "console/kb_entry.html",
                         _entry_context(request, entry, creating=False))  # fmt: skip


@route(
    "POST", "/kb/entries/{entry_id}", role=ROLE_ADMIN, sample={"entry_id": "faq-xss"},
    form={"question": "改过的问题", "answer": "改过的答案", "enabled": "1"},
)  # fmt: skip
async def save_entry(request: web.Request) -> web.StreamResponse:
    """Save an edited entry and publish it."""
    entry_id = request.match_info["entry_id"]
    entry = kb_forms.entry(await form_of(request), entry_id)
    async with request.config_dict[DB].begin() as db:
        await kb_admin.save_entry(db, entry, actor=auth.viewer_of(request).userid,
                                  creating=False)  # fmt: skip
    await publish(request)
    raise layout.see_other(f"{PAGE}/entries/{entry_id}", saved="1")


@route("POST", "/kb/entries/{entry_id}/delete", role=ROLE_ADMIN,
       sample={"entry_id": "faq-delete-me"}, form={"confirm": "1"})  # fmt: skip
async def delete_entry(request: web.Request) -> web.StreamResponse:
    """Delete an entry; customers stop getting its answer in every worker."""
    entry_id = request.match_info["entry_id"]
    await require_confirm(request)
    async with request.config_dict[DB].begin() as db:
        await kb_admin.delete_entry(db, entry_id, actor=auth.viewer_of(request).userid)
    await publish(request)
    raise layout.see_other(PAGE, deleted=entry_id)
