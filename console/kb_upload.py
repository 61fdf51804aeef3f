"""Importing a KB file in two steps: the upload shows a preview; only its confirmation writes.

The upload is validated and parsed, compared with the stored KB and kept (bot.domain.kb_import)
under a token bound to the admin's session; the preview page shows per section what would be
added, changed, removed or kept, and the admin chooses "merge" (the default: add and update,
keep the rest) or "replace" before confirming. A confirmation after the KB changed is refused.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import CACHE, DB
from bot.domain import kb_admin, kb_import
from bot.domain.models import ROLE_ADMIN
from console import auth, errors, layout
from console.kb_common import form_of, publish
from console.registry import route

PAGE = "/console/kb/import"
FILES = "/console/kb/files"


def _owner(request: web.Request) -> dict[str, str]:
    viewer = auth.viewer_of(request)
    return {"actor": viewer.userid, "nonce": viewer.session.nonce}


# The file comes as the raw request body (kb.js sends it with the CSRF header): every face's
# body is read up front by bot.core.bodies, which leaves nothing for a multipart parser.
@route("POST", "/kb/import", role=ROLE_ADMIN, form={"note": "no file"},
       max_body=kb_admin.UPLOAD_MAX)  # fmt: skip
async def upload(request: web.Request) -> web.StreamResponse:
    """Check an uploaded file and keep it for a preview; nothing is written to the KB."""
    if request.content_type != "application/octet-stream":
        raise UsageError("请选择要导入的文件")
    filename = request.query.get("name", "")[:200]
    data = await request.read()
    if not data:
        raise UsageError("文件是空的")
    sections = await asyncio.to_thread(kb_admin.read_upload, filename, data)
    async with request.config_dict[DB]() as db:
        fingerprint, preview = await kb_import.preview(db, sections)
    token = await kb_import.save_draft(
        request.config_dict[CACHE], name=filename, data=data, fingerprint=fingerprint,
        preview=preview, **_owner(request),
    )  # fmt: skip
    return web.json_response({"token": token, "url": f"{PAGE}?token={token}", **preview})


@route("GET", "/kb/import", role=ROLE_ADMIN)
async def preview_page(request: web.Request) -> web.StreamResponse:
    """What a pending upload would change, with the choice of mode and the confirm button."""
    cache = request.config_dict[CACHE]
    done_token = request.query.get("done", "")
    if done_token:
        done = await kb_import.load_done(cache, done_token, **_owner(request))
        return layout.render(request, "console/kb_import.html", {
            "tab": "files", "done": done, "problem": "" if done else kb_import.EXPIRED,
        })  # fmt: skip
    try:
        draft = await kb_import.load_draft(cache, request.query.get("token", ""),
                                           **_owner(request))  # fmt: skip
    except NotFoundError as exc:
        return layout.render(request, "console/kb_import.html",
                             {"tab": "files", "problem": exc.message})  # fmt: skip
    async with request.config_dict[DB]() as db:
        current = await kb_import.is_current(db, draft)
    context = {
        "tab": "files", "draft": draft, "p": draft.preview,
        "problem": "" if current else kb_import.STALE, "modes": kb_import.MODE_LABEL,
        "shown": kb_import.ABSENT_SHOWN,
    }  # fmt: skip
    return layout.render(request, "console/kb_import.html", context)


@route("POST", "/kb/import/confirm", role=ROLE_ADMIN, form={"token": "nope", "mode": "merge"})
async def confirm(request: web.Request) -> web.StreamResponse:
    """Write exactly the previewed import, or refuse (and drop it) when the KB changed since."""
    form = await form_of(request)
    mode = kb_import.mode_of(form.get("mode", ""))
    cache = request.config_dict[CACHE]
    try:
        draft = await kb_import.load_draft(cache, form.get("token", ""), **_owner(request))
        await kb_import.claim(cache, draft)
        try:
            # The same bytes parse the same way: the sections are those the preview counted.
            sections = await asyncio.to_thread(kb_admin.read_upload, draft.name, draft.data)
            async with request.config_dict[DB].begin() as db:
                summary = await kb_import.confirm(db, sections, draft, mode)
        except kb_import.StaleImportError:
            await kb_import.drop_draft(cache, draft)
            raise
        except BaseException:
            await kb_import.release(cache, draft)
            raise
    except (NotFoundError, kb_import.StaleImportError) as exc:
        if errors.wants_json(request):
            raise
        context = {"tab": "files", "problem": exc.message}
        return layout.render(request, "console/kb_import.html", context, status=exc.status)
    await kb_import.drop_draft(cache, draft)
    await kb_import.save_done(cache, draft, summary)
    await publish(request)
    if errors.wants_json(request):
        return web.json_response({"imported": summary})
    raise layout.see_other(PAGE, done=draft.token)


@route("POST", "/kb/import/cancel", role=ROLE_ADMIN, form={"token": "nope"})
async def cancel(request: web.Request) -> web.StreamResponse:
    """Forget a pending upload (an unknown or expired one is already gone)."""
    token = (await form_of(request)).get("token", "")
    try:
        draft = await kb_import.load_draft(request.config_dict[CACHE], token, **_owner(request))
    except NotFoundError:
        raise layout.see_other(FILES) from None
    await kb_import.drop_draft(request.config_dict[CACHE], draft)
    raise layout.see_other(FILES)
