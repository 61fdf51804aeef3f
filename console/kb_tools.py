"""Knowledge-base tools: test a question, domain synonyms, the files page and export."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import func, select

from bot.core.errors import UsageError
from bot.core.keys import DB, KB
from bot.domain import audit, kb_admin, kb_forms, kb_probe
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR
from console import auth, errors, layout
from console.kb_common import form_of, publish
from console.registry import route
from knowledge import store
from knowledge.store import KBEntry, KBQuickReply, KBRule

QUESTION_MAX = 500
SYNONYMS_MAX = 200_000


@route("GET", "/kb/test", role=ROLE_SUPERVISOR)
async def test_page(request: web.Request) -> web.StreamResponse:
    """What the matcher returns for a question and why (JSON for scripts)."""
    question = request.query.get("q", "").strip()
    if len(question) > QUESTION_MAX:
        raise UsageError(f"问题太长：最多 {QUESTION_MAX} 个字")
    snapshot = request.config_dict[KB].snapshot
    # The index is immutable and matching a query takes milliseconds: no thread needed.
    result = kb_probe.probe(snapshot, question) if question else None
    if errors.wants_json(request):
        return web.json_response({"result": result})
    rules = kb_probe.rule_test(snapshot.rules, question) if question else None
    context = {"q": question, "result": result, "rules": rules, "tab": "test"}
    return layout.render(request, "console/kb_test.html", context)


@route("GET", "/kb/synonyms", role=ROLE_SUPERVISOR)
async def synonyms_page(request: web.Request) -> web.StreamResponse:
    """The KB's domain synonyms (merged with the built-in ones when the index is built)."""
    async with request.config_dict[DB]() as db:
        table = (await store.load_kb(db)).synonyms
    context = {
        "text": kb_forms.synonyms_text(table), "groups": table.groups, "tab": "synonyms",
        "can_edit": auth.viewer_of(request).is_admin, "saved": request.query.get("saved", ""),
    }  # fmt: skip
    return layout.render(request, "console/kb_synonyms.html", context)


@route("POST", "/kb/synonyms", role=ROLE_ADMIN, form={"synonyms": "发票：开票、票据"})
async def save_synonyms(request: web.Request) -> web.StreamResponse:
    """Replace the domain synonyms; every worker re-indexes with them."""
    raw = (await form_of(request)).get("synonyms", "")
    if len(raw) > SYNONYMS_MAX:
        raise UsageError("同义词内容太长")
    table = kb_forms.synonyms(raw)
    async with request.config_dict[DB].begin() as db:
        await kb_admin.save_synonyms(db, table, actor=auth.viewer_of(request).userid)
    await publish(request)
    raise layout.see_other("/console/kb/synonyms", saved="1")


@route("GET", "/kb/files", role=ROLE_ADMIN)
async def files_page(request: web.Request) -> web.StreamResponse:
    """Upload a KB file for a preview before importing it (console.kb_upload), or export one."""
    async with request.config_dict[DB]() as db:
        counts = {
            "entries": await store.count_entries(db),
            "rules": int(await db.scalar(select(func.count()).select_from(KBRule)) or 0),
            "quick_replies": int(
                await db.scalar(select(func.count()).select_from(KBQuickReply)) or 0),
            "categories": int(await db.scalar(
                select(func.count(func.distinct(KBEntry.category)))) or 0),
        }  # fmt: skip
    context = {"counts": counts, "sections": kb_admin.SECTION_LABEL, "tab": "files",
               "upload_mb": kb_admin.UPLOAD_MAX // (1024 * 1024)}  # fmt: skip
    return layout.render(request, "console/kb_files.html", context)


# A POST (a form with the CSRF token): the download is audited, and every GET route of the
# console is a page (the registry tests open each one in the browser).
@route("POST", "/kb/export", role=ROLE_ADMIN, form={"format": "csv", "section": "entries"})
async def export(request: web.Request) -> web.StreamResponse:
    """Download the stored KB as XLSX or YAML (every section) or CSV (one section)."""
    form = await form_of(request)
    fmt, section = form.get("format", "xlsx"), form.get("section", "entries")
    async with request.config_dict[DB]() as db:
        kb = await store.load_kb(db)
    name, data = await asyncio.to_thread(kb_admin.export_bytes, kb, fmt, section)
    async with request.config_dict[DB].begin() as db:
        await audit.record(db, actor=auth.viewer_of(request).userid,
                           action="console:kb_export", target=name)  # fmt: skip
    return web.Response(body=data, content_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
    })  # fmt: skip
