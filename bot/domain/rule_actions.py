"""What keyword-rule hits do: tags, the special-care list, a note to the rep, escalations.

`apply` runs inside the pipeline's transaction; `after_commit` sends the app messages once the
rows are safe. Idempotent per customer and rule: tags are added once, the rep is told once per
window, and a rule opens at most one open escalation per customer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError, WeComError
from bot.core.keys import CACHE, DB, SETTINGS, WECOM
from bot.domain import customers, escalations, notify, tags
from bot.domain.models import Customer, CustomerTag, Escalation
from knowledge.model import KeywordRule
from knowledge.rules import RuleResult

logger = logging.getLogger(__name__)

# The rep hears about one rule on one customer at most once in this window.
NOTIFY_WINDOW = 12 * 3600
QUOTE_MAX = 100


def notified_key(external_userid: str, rule_id: str) -> str:
    """Cache key that marks "rep already told about this rule for this customer"."""
    return f"pipeline:notified:{external_userid}:{rule_id}"


@dataclass
class Plan:
    """The rule actions decided in the transaction, and the messages still to send."""

    external_userid: str
    rep: str
    customer_name: str
    text: str
    result: RuleResult
    escalation_ids: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def _reason_prefix(rule: KeywordRule) -> str:
    return f"关键词规则「{rule.name}」"


async def apply(
    app: web.Application,
    session: AsyncSession,
    *,
    external_userid: str,
    userid: str,
    source: str,
    result: RuleResult,
    text: str,
) -> Plan:
    """Tag, mark special care and open escalations for the hits (inside the caller's tx)."""
    rep = userid or await customers.rep_of(session, external_userid) or ""
    if not rep and source == "kf":
        rep = await _rep_from_wecom(app, session, external_userid)
    customer = await customers.upsert_customer(session, external_userid=external_userid)
    plan = Plan(external_userid, rep, customer.name, text, result)
    if result.tags:
        await _tag(app, session, plan)
    if result.special_care:
        _mark_special_care(customer, result)
        plan.actions.append("special_care")
    if result.escalate:
        await _escalate(session, plan)
    return plan


async def _rep_from_wecom(app: web.Application, session: AsyncSession, euid: str) -> str:
    """A kf customer unknown locally may still be some rep's contact: ask WeCom once."""
    try:
        detail = await app[WECOM].get_external_contact(euid)
    except WeComError as exc:
        logger.info("no rep for customer=%s (errcode %s)", euid, exc.errcode)
        return ""
    follows = detail.get("follow_user") or []
    if not follows:
        return ""
    first = follows[0]
    await customers.upsert_follow(
        session, userid=str(first["userid"]), external_userid=euid,
        remark=str(first.get("remark") or ""), state=str(first.get("state") or ""),
    )  # fmt: skip
    return str(first["userid"])


async def _tag(app: web.Application, session: AsyncSession, plan: Plan) -> None:
    names = list(plan.result.tags)
    by = ",".join(h.rule.id for h in plan.result.hits)
    try:
        async with session.begin_nested():  # a WeCom failure undoes only the tag rows
            if plan.rep:
                added = await tags.add_tags(
                    session, app[WECOM], external_userid=plan.external_userid, userid=plan.rep,
                    names=names, by_kind="rule", by=by,
                )  # fmt: skip
            else:
                added = await _tag_locally(session, app, plan.external_userid, names, by)
    except (WeComError, UsageError) as exc:
        logger.error("rule tags failed customer=%s err=%s", plan.external_userid, exc)
        plan.actions.append("tag_failed")
        return
    plan.actions.extend(f"tag:{name}" for name in added)


async def _tag_locally(
    session: AsyncSession, app: web.Application, euid: str, names: list[str], by: str
) -> list[str]:
    """No rep to mark_tag through (a kf-only customer): keep the tags locally."""
    wanted = await tags.ensure_tags(session, app[WECOM], names)
    have = {t.id for t in await tags.customer_tags(session, euid)}
    new = [t for t in wanted if t.id not in have]
    session.add_all(
        CustomerTag(external_userid=euid, tag_id=t.id, added_by_kind="rule", added_by=by)
        for t in new
    )
    await session.flush()
    return [t.name for t in new]


def _mark_special_care(customer: Customer, result: RuleResult) -> None:
    customer.special_care = True
    notes = [n for n in (customer.caution or "").split("\n") if n]
    for hit in result.hits:
        caution = hit.rule.caution
        if hit.rule.special_care and caution and caution not in notes:
            notes.append(caution)
    customer.caution = "\n".join(notes)


async def _escalate(session: AsyncSession, plan: Plan) -> None:
    for hit in plan.result.hits:
        if not hit.rule.escalate:
            continue
        prefix = _reason_prefix(hit.rule)
        open_one = await session.scalar(
            select(Escalation.id).where(
                Escalation.external_userid == plan.external_userid,
                Escalation.status == escalations.OPEN,
                Escalation.source == "rule",
                Escalation.reason.startswith(prefix),
            )
        )
        if open_one is not None:
            continue
        reason = f"{prefix}：客户提到「{hit.phrase}」。{hit.rule.caution}".strip()
        row = await escalations.open_escalation(
            session, external_userid=plan.external_userid, userid=plan.rep, reason=reason,
            source="rule",
        )  # fmt: skip
        plan.escalation_ids.append(row.id)
        plan.actions.append(f"escalation:{row.id}")


async def after_commit(app: web.Application, plan: Plan) -> list[str]:
    """Tell the rep (once per rule and window) and the supervisors of new escalations."""
    done: list[str] = []
    if plan.rep and plan.result.notify and await _claim_notice(app, plan):
        await notify.notify_user(app[WECOM], plan.rep, rep_notice(plan))
        done.append(f"notified:{plan.rep}")
    for escalation_id in plan.escalation_ids:
        async with app[DB].begin() as session:
            row = await session.get(Escalation, escalation_id)
            if row is not None:
                await notify.notify_escalation(session, app[WECOM], app[SETTINGS], row)
                done.append(f"escalation_notified:{escalation_id}")
    return done


async def _claim_notice(app: web.Application, plan: Plan) -> bool:
    """True when at least one notifying rule was not yet told for this customer."""
    claimed = False
    for hit in plan.result.hits:
        if hit.rule.notify:
            key = notified_key(plan.external_userid, hit.rule.id)
            claimed |= await app[CACHE].set_nx(key, "1", NOTIFY_WINDOW)
    return claimed


def rep_notice(plan: Plan) -> str:
    """The app message a rep gets when their customer trips a rule."""
    name = plan.customer_name or plan.external_userid[-6:]
    quote = plan.text if len(plan.text) <= QUOTE_MAX else plan.text[:QUOTE_MAX] + "…"
    rules = "、".join(f"{h.rule.name}（{h.phrase}）" for h in plan.result.hits)
    lines = [f"【客户提醒】{name}：“{quote}”", f"触发规则：{rules}"]
    if plan.result.tags:
        lines.append(f"已加标签：{'、'.join(plan.result.tags)}")
    lines.extend(f"注意：{c}" for c in plan.result.cautions)
    return "\n".join(lines)
