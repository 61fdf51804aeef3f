"""Page 3, keyword rules: phrases, exclusions, tags, caution, special care, notify, escalate;
a live test that highlights the matching phrase. Supervisors view and test; admins edit."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import NotFoundError, UsageError
from bot.core.keys import DB, KB
from bot.domain import kb_admin, kb_forms, kb_probe
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR
from console import auth, layout
from console.kb_common import form_of, publish, require_confirm
from console.registry import Nav, route
from knowledge.store import KBRule

PAGE = "/console/rules"
TEST_MAX = 500


@route("GET", "/rules", role=ROLE_SUPERVISOR, nav=Nav("关键词规则", 30))
async def rules_page(request: web.Request) -> web.StreamResponse:
    """Every rule with its phrases and actions, and the sentence test."""
    async with request.config_dict[DB]() as db:
        rules = (await db.scalars(select(KBRule).order_by(KBRule.position, KBRule.id))).all()
    context = {
        "rules": rules, "can_edit": auth.viewer_of(request).is_admin,
        "saved": request.query.get("saved", ""), "deleted": request.query.get("deleted", ""),
    }  # fmt: skip
    return layout.render(request, "console/rules.html", context)


@route("POST", "/rules/test", role=ROLE_SUPERVISOR, form={"text": "我过敏了"})
async def test_sentence(request: web.Request) -> web.StreamResponse:
    """The phrases the live rules find in a sentence, with their spans (for highlighting)."""
    text = (await form_of(request)).get("text", "")
    if not text.strip():
        raise UsageError("请输入一句客户可能说的话")
    if len(text) > TEST_MAX:
        raise UsageError(f"句子太长：最多 {TEST_MAX} 个字")
    engine = request.config_dict[KB].snapshot.rules
    return web.json_response(kb_probe.rule_test(engine, text))


def _edit_context(request: web.Request, rule: KBRule | None) -> dict[str, object]:
    return {"rule": rule, "creating": rule is None, "saved": request.query.get("saved", ""),
            "can_edit": auth.viewer_of(request).is_admin}  # fmt: skip


@route("GET", "/rules/new", role=ROLE_ADMIN)
async def new_rule_page(request: web.Request) -> web.StreamResponse:
    """An empty rule form."""
    return layout.render(request, "console/rule_edit.html", _edit_context(request, None))


@route("POST", "/rules/new", role=ROLE_ADMIN,
       form={"name": "新规则", "phrases": "新词", "caution": "请留意"})  # fmt: skip
async def create_rule(request: web.Request) -> web.StreamResponse:
    """Create a rule; it applies in every worker from the next message on."""
    form = await form_of(request)
    rule = kb_forms.rule(form, kb_forms.new_id(form, "rule"))
    async with request.config_dict[DB].begin() as db:
        await kb_admin.save_rule(db, rule, actor=auth.viewer_of(request).userid, creating=True)
    await publish(request)
    raise layout.see_other(f"{PAGE}/{rule.id}", saved="1")


@route("GET", "/rules/{rule_id}", role=ROLE_SUPERVISOR, sample={"rule_id": "rule-xss"})
async def rule_page(request: web.Request) -> web.StreamResponse:
    """One rule (a form for admins)."""
    async with request.config_dict[DB]() as db:
        rule = await db.get(KBRule, request.match_info["rule_id"])
    if rule is None:
        raise NotFoundError("这条规则不存在（可能已被删除）")
    return layout.render(request, "console/rule_edit.html", _edit_context(request, rule))


@route(
    "POST", "/rules/{rule_id}", role=ROLE_ADMIN, sample={"rule_id": "rule-xss"},
    form={"name": "改过的规则", "phrases": "过敏", "tags": "敏感肌", "special_care": "1"},
)  # fmt: skip
async def save_rule(request: web.Request) -> web.StreamResponse:
    """Save an edited rule and publish it."""
    rule_id = request.match_info["rule_id"]
    rule = kb_forms.rule(await form_of(request), rule_id)
    async with request.config_dict[DB].begin() as db:
        await kb_admin.save_rule(db, rule, actor=auth.viewer_of(request).userid, creating=False)
    await publish(request)
    raise layout.see_other(f"{PAGE}/{rule_id}", saved="1")


@route("POST", "/rules/{rule_id}/delete", role=ROLE_ADMIN, sample={"rule_id": "rule-delete-me"},
       form={"confirm": "1"})  # fmt: skip
async def delete_rule(request: web.Request) -> web.StreamResponse:
    """Delete a rule in every worker."""
    rule_id = request.match_info["rule_id"]
    await require_confirm(request)
    async with request.config_dict[DB].begin() as db:
        await kb_admin.delete_rule(db, rule_id, actor=auth.viewer_of(request).userid)
    await publish(request)
    raise layout.see_other(PAGE, deleted=rule_id)
