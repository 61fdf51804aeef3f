"""Admins create, edit and import SOP rules as data: a form for the common fields (trigger,
conditions, state, steps as YAML) or a YAML editor for the whole rule, both validated by the
loader the YAML import uses. An error re-shows the editor with the admin's input and changes
nothing."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import CLOCK, DB, SETTINGS
from bot.domain import audit
from bot.domain.lifecycle_models import SopRule
from bot.domain.models import ROLE_ADMIN
from bot.domain.sop import editing, rules
from console import auth, layout
from console.registry import route

PAGE = "/console/sop"
# A rule the CSRF test posts.
SAMPLE_RULE = "id: csrf-rule\ntrigger: {kind: added}\nsteps: [{actions: [{type: task, text: 嗨}]}]"
NEW_STEPS = """- delay: 0
  window: "09:00-21:00"
  actions:
    - type: task
      text: 您好，我是您的专属顾问～
"""


def _editor(
    request: web.Request,
    *,
    original: str,
    form: dict[str, str],
    yaml_text: str,
    error: str = "",
    mode: str = "form",
) -> web.Response:
    settings = request.config_dict[SETTINGS]
    context: dict[str, Any] = {
        "original": original,
        "form": form,
        "yaml": yaml_text,
        "error": error,
        "mode": mode,
        "triggers": rules.TRIGGERS,
        "params": editing.TRIGGER_PARAM,
        "stages": settings.stage_names,
        "actions": editing.ACTION_LABEL,
    }
    return layout.render(request, "console/sop_edit.html", context, status=400 if error else 200)


@route("GET", "/sop/new", role=ROLE_ADMIN)
async def new_rule(request: web.Request) -> web.StreamResponse:
    """The editor for a new rule."""
    form = {"trigger_kind": "added", "steps": NEW_STEPS}
    blank = {
        "id": "my-rule",
        "name": "新规则",
        "trigger": {"kind": "added"},
        "steps": [{"delay": 0, "actions": [{"type": "task", "text": "您好～"}]}],
    }
    return _editor(request, original="", form=form, yaml_text=editing.rule_yaml(blank))


@route("GET", "/sop/rule/{rule_id}/edit", role=ROLE_ADMIN, sample={"rule_id": "warming"})
async def edit_rule(request: web.Request) -> web.StreamResponse:
    """The editor for a stored rule."""
    async with request.config_dict[DB]() as db:
        rule = await db.get(SopRule, request.match_info["rule_id"])
        if rule is None:
            raise NotFoundError("没有这条 SOP 规则")
        data = rules.to_json(rule)
    return _editor(
        request, original=rule.id, form=editing.form_of(data), yaml_text=editing.rule_yaml(data)
    )


@route(
    "POST",
    "/sop/save",
    role=ROLE_ADMIN,
    form={
        "original": "",
        "mode": "yaml",
        "yaml": SAMPLE_RULE,
    },
)
async def save(request: web.Request) -> web.StreamResponse:
    """Create or update one rule from the form or the YAML editor (audited with before/after)."""
    viewer = auth.viewer_of(request)
    settings = request.config_dict[SETTINGS]
    now = request.config_dict[CLOCK].now()
    posted = {k: str(v) for k, v in (await request.post()).items() if isinstance(v, str)}
    original = posted.get("original", "").strip()
    mode = "yaml" if posted.get("mode") == "yaml" else "form"
    try:
        if mode == "yaml":
            rule = editing.rule_from_yaml(posted.get("yaml", ""), settings)
        else:
            rule = editing.rule_from_form(posted, settings)
        async with request.config_dict[DB].begin() as db:
            before = await db.get(SopRule, rule["id"])
            if original and rule["id"] != original:
                raise UsageError(f"编辑时不能修改规则 id（原为 {original}），要换 id 请新建规则")
            if not original and before is not None:
                raise UsageError(f"规则 id「{rule['id']}」已存在，请换一个或去编辑那条规则")
            if original and before is None:
                raise NotFoundError("没有这条 SOP 规则")
            old = rules.to_json(before) if before is not None else None
            await rules.store(db, [rule], now=now)
            await audit.record(
                db,
                actor=viewer.userid,
                action="console:sop_save",
                target=rule["id"],
                detail={"before": old, "after": rule},
            )
    except UsageError as exc:
        if isinstance(exc, NotFoundError):
            raise
        form = posted if mode == "form" else {}
        if mode == "yaml" and original:
            async with request.config_dict[DB]() as db:
                stored = await db.get(SopRule, original)
                form = editing.form_of(rules.to_json(stored)) if stored else {}
        return _editor(
            request,
            original=original,
            form=form,
            mode=mode,
            error=exc.message,
            yaml_text=posted.get("yaml", ""),
        )
    raise layout.see_other(PAGE, done="saved-" + rule["id"])


@route("GET", "/sop/import", role=ROLE_ADMIN)
async def import_page(request: web.Request) -> web.StreamResponse:
    """The import form: paste YAML or pick a file."""
    return layout.render(request, "console/sop_import.html", {"error": "", "yaml": ""})


@route(
    "POST",
    "/sop/import",
    role=ROLE_ADMIN,
    form={
        "yaml": "rules:\n  - id: csrf-import\n    trigger: {kind: added}\n"
        "    steps: [{actions: [{type: task, text: 你好}]}]"
    },
)
async def import_rules(request: web.Request) -> web.StreamResponse:
    """Create or update every rule of a YAML text or file; one error rejects the whole file."""
    viewer = auth.viewer_of(request)
    settings = request.config_dict[SETTINGS]
    now = request.config_dict[CLOCK].now()
    # A plain form (the file picker fills the text area in the page): multipart bodies are
    # already consumed by bot.core.bodies before the console could parse them.
    text = str((await request.post()).get("yaml", "") or "")
    try:
        if not text.strip():
            raise UsageError("请粘贴 YAML 或选择文件")
        found = editing.rules_from_yaml(text, settings)
        async with request.config_dict[DB].begin() as db:
            await rules.store(db, found, now=now)
            await audit.record(
                db,
                actor=viewer.userid,
                action="console:sop_import",
                detail={"rules": [r["id"] for r in found]},
            )
    except UsageError as exc:
        context = {"error": exc.message, "yaml": text[:100_000]}
        return layout.render(request, "console/sop_import.html", context, status=400)
    raise layout.see_other(PAGE, done=f"imported-{len(found)}")
