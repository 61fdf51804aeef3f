"""Page 5, welcome templates per channel / member / department / default, with a preview
rendered by the function the welcome itself uses (bot.domain.welcome.render)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import DB
from bot.domain import audit, welcome_templates
from bot.domain.models import ROLE_ADMIN, WelcomeTemplate
from console import auth, forms, layout
from console.registry import Nav, route

PAGE = "/console/welcome"
RESERVED = {"new", "preview"}  # path words, not template ids
SAMPLE = {"scope": "default", "target": "", "text": "你好{customer}，我是{rep}", "enabled": "1"}


def _input(form: Any, template_id: str = "") -> welcome_templates.TemplateInput:
    new_id = template_id or forms.text(form, "id", 64)
    if new_id in RESERVED:
        raise UsageError("这个编号是保留字，请换一个")
    return welcome_templates.TemplateInput(
        id=new_id,
        scope=forms.text(form, "scope", 16) or "default",
        target=forms.text(form, "target", 64),
        text=str(form.get("text") or "")[:8000],
        attachments=welcome_templates.parse_attachments(forms.text(form, "attachments", 20000)),
        enabled=forms.checked(form, "enabled"),
    )


def _detail(data: welcome_templates.TemplateInput) -> dict[str, Any]:
    return {"scope": data.scope, "target": data.target, "text": data.text,
            "attachments": len(data.attachments), "enabled": data.enabled}  # fmt: skip


@route("GET", "/welcome", role=ROLE_ADMIN, nav=Nav("欢迎语", 50))
async def templates_page(request: web.Request) -> web.StreamResponse:
    """Every template, most specific scope first, each with its rendered preview."""
    async with request.config_dict[DB]() as db:
        rows = (await db.scalars(select(WelcomeTemplate))).all()
        labels = await welcome_templates.target_labels(db)
        previews = {t.id: await welcome_templates.preview(
            db, text=t.text, attachments=t.attachments or [], scope=t.scope, target=t.target)
            for t in rows}  # fmt: skip
    order = list(welcome_templates.SCOPE_LABEL)
    rows = sorted(rows, key=lambda t: (order.index(t.scope) if t.scope in order else 9, t.id))
    context = {"templates": rows, "labels": labels, "previews": previews,
               "scopes": welcome_templates.SCOPE_LABEL, "saved": request.query.get("saved", "")}
    return layout.render(request, "console/welcome.html", context)


async def _form_page(request: web.Request, template: WelcomeTemplate | None) -> web.Response:
    async with request.config_dict[DB]() as db:
        labels = await welcome_templates.target_labels(db)
        preview = await welcome_templates.preview(
            db, text=template.text, attachments=template.attachments or [],
            scope=template.scope, target=template.target,
        ) if template else None  # fmt: skip
    attachments = json.dumps(template.attachments, ensure_ascii=False, indent=1) if (
        template and template.attachments) else ""  # fmt: skip
    context = {"template": template, "labels": labels, "preview": preview,
               "attachments": attachments, "scopes": welcome_templates.SCOPE_LABEL,
               "saved": request.query.get("saved", "")}  # fmt: skip
    return layout.render(request, "console/welcome_form.html", context)


@route("GET", "/welcome/new", role=ROLE_ADMIN)
async def new_page(request: web.Request) -> web.StreamResponse:
    """The form for a new template."""
    return await _form_page(request, None)


@route("GET", "/welcome/{template_id}", role=ROLE_ADMIN, sample={"template_id": "xsstpl"})
async def edit_page(request: web.Request) -> web.StreamResponse:
    """One template's form and preview."""
    async with request.config_dict[DB]() as db:
        template = await db.get(WelcomeTemplate, request.match_info["template_id"])
    if template is None:
        raise NotFoundError("找不到这条欢迎语")
    return await _form_page(request, template)


@route("POST", "/welcome/preview", role=ROLE_ADMIN, form={"text": "你好{customer}"})
async def preview(request: web.Request) -> web.StreamResponse:
    """What a customer would get from this (unsaved) template, as JSON; nothing changes."""
    form: Any = await request.json() if request.content_type == "application/json" else (
        await request.post())  # fmt: skip
    if not isinstance(form, dict) and not hasattr(form, "getall"):
        raise UsageError("请求格式不对")
    text = str(form.get("text") or "")[:8000]
    attachments = welcome_templates.parse_attachments(str(form.get("attachments") or ""))
    async with request.config_dict[DB]() as db:
        shown = await welcome_templates.preview(
            db, text=text, attachments=attachments, scope=str(form.get("scope") or ""),
            target=str(form.get("target") or "")[:64],
        )  # fmt: skip
    return web.json_response(shown)


@route("POST", "/welcome", role=ROLE_ADMIN, form=SAMPLE)
async def create(request: web.Request) -> web.StreamResponse:
    """Save a new template."""
    viewer = auth.viewer_of(request)
    data = _input(await request.post())
    async with request.config_dict[DB].begin() as db:
        template_id = await welcome_templates.save(db, data, existing=None)
        await audit.record(db, actor=viewer.userid, action="console:welcome.create",
                           target=template_id, detail=_detail(data))  # fmt: skip
    raise layout.see_other(f"{PAGE}/{template_id}", saved="created")


@route("POST", "/welcome/{template_id}", role=ROLE_ADMIN, sample={"template_id": "xsstpl"},
       form=SAMPLE)  # fmt: skip
async def update(request: web.Request) -> web.StreamResponse:
    """Save a template's changes (live for the next add: the welcome reads the table)."""
    viewer = auth.viewer_of(request)
    template_id = request.match_info["template_id"]
    data = _input(await request.post(), template_id)
    async with request.config_dict[DB].begin() as db:
        before = await db.get(WelcomeTemplate, template_id)
        old = {"text": before.text, "scope": before.scope, "target": before.target,
               "enabled": before.enabled} if before else {}  # fmt: skip
        await welcome_templates.save(db, data, existing=template_id)
        await audit.record(db, actor=viewer.userid, action="console:welcome.update",
                           target=template_id, detail={"before": old, "after": _detail(data)})
    raise layout.see_other(f"{PAGE}/{template_id}", saved="updated")


@route("POST", "/welcome/{template_id}/delete", role=ROLE_ADMIN,
       sample={"template_id": "rep2tpl"}, form={"confirm": "1"})  # fmt: skip
async def delete(request: web.Request) -> web.StreamResponse:
    """Delete a template no channel uses."""
    viewer = auth.viewer_of(request)
    template_id = request.match_info["template_id"]
    forms.require_confirm(await request.post())
    async with request.config_dict[DB].begin() as db:
        template = await db.get(WelcomeTemplate, template_id)
        text = template.text if template else ""
        await welcome_templates.delete(db, template_id)
        await audit.record(db, actor=viewer.userid, action="console:welcome.delete",
                           target=template_id, detail={"text": text})  # fmt: skip
    raise layout.see_other(PAGE, saved="deleted")
