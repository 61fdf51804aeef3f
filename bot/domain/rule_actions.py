"""What keyword-rule hits do: tags, the special-care list, a note to the rep, escalations.

`prepare` runs before the pipeline's transaction (it may read WeCom and create missing corp
tags); `apply` runs inside it and records every outward call as an effect, so the local
change and its messages commit together. Idempotent per customer and rule: tags are added
once, the rep is told once per window, and a rule opens at most one open escalation per
customer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import UsageError, WeComError
from bot.core.keys import DB, SETTINGS, WECOM
from bot.domain import customers, escalations, notify, tags
from bot.domain.models import Customer, CustomerTag, Escalation, Tag
from knowledge.model import KeywordRule
from knowledge.rules import RuleResult

logger = logging.getLogger(__name__)

# The rep hears about one rule on one customer at most once in this window.
NOTIFY_WINDOW = 12 * 3600
QUOTE_MAX = 100


@dataclass
class Prepared:
    """What rule actions need that only WeCom knows, found before the transaction."""

    rep: str = ""
    # A kf customer's relation learnt from WeCom: (userid, remark, state).
    follow: tuple[str, str, str] | None = None
    tag_rows: list[Tag] = field(default_factory=list)
    tag_error: str = ""


@dataclass
class Plan:
    """The rule actions taken in the transaction (for the sidebar and the logs)."""

    external_userid: str
    rep: str
    customer_name: str
    text: str
    result: RuleResult
    actions: list[str] = field(default_factory=list)


def _reason_prefix(rule: KeywordRule) -> str:
    return f"关键词规则「{rule.name}」"


async def prepare(
    app: web.Application, *, external_userid: str, userid: str, source: str, result: RuleResult
) -> Prepared:
    """The rep to act through and the rule tags (created in WeCom when missing)."""
    prepared = Prepared(rep=userid)
    if not prepared.rep:
        async with app[DB]() as session:
            prepared.rep = await customers.rep_of(session, external_userid) or ""
    if not prepared.rep and source == "kf":
        prepared.follow = await _follow_from_wecom(app, external_userid)
        prepared.rep = prepared.follow[0] if prepared.follow else ""
    if result.tags:
        try:
            prepared.tag_rows = await tags.ensure_tags(app[DB], app[WECOM], list(result.tags))
        except (WeComError, UsageError) as exc:
            logger.error("rule tags failed customer=%s err=%s", external_userid, exc)
            prepared.tag_error = str(exc)
    return prepared


async def _follow_from_wecom(app: web.Application, euid: str) -> tuple[str, str, str] | None:
    """A kf customer unknown locally may still be some rep's contact: ask WeCom once."""
    try:
        detail = await app[WECOM].get_external_contact(euid)
    except WeComError as exc:
        logger.info("no rep for customer=%s (errcode %s)", euid, exc.errcode)
        return None
    follows = detail.get("follow_user") or []
    if not follows:
        return None
    first = follows[0]
    return str(first["userid"]), str(first.get("remark") or ""), str(first.get("state") or "")


async def apply(
    app: web.Application,
    session: AsyncSession,
    *,
    external_userid: str,
    prepared: Prepared,
    result: RuleResult,
    text: str,
    now: datetime,
) -> Plan:
    """Tag, mark special care, open escalations and record the notices (caller's tx)."""
    customer = await customers.upsert_customer(session, external_userid=external_userid)
    if prepared.follow is not None:
        userid, remark, state = prepared.follow
        await customers.upsert_follow(
            session, userid=userid, external_userid=external_userid, remark=remark, state=state
        )
    plan = Plan(external_userid, prepared.rep, customer.name, text, result)
    if result.tags:
        await _tag(session, plan, prepared)
    if result.special_care:
        _mark_special_care(customer, result)
        plan.actions.append("special_care")
    if result.escalate:
        await _escalate(app, session, plan, now)
    if plan.rep and result.notify:
        await _notify_rep(session, plan, now)
    return plan


async def _tag(session: AsyncSession, plan: Plan, prepared: Prepared) -> None:
    if prepared.tag_error:
        plan.actions.append("tag_failed")
        return
    by = ",".join(h.rule.id for h in plan.result.hits)
    names = [t.name for t in prepared.tag_rows]
    if plan.rep:
        added = await tags.add_tags(
            session, external_userid=plan.external_userid, userid=plan.rep, names=names,
            by_kind="rule", by=by,
        )  # fmt: skip
    else:
        added = await _tag_locally(session, plan.external_userid, prepared.tag_rows, by)
    plan.actions.extend(f"tag:{name}" for name in added)


async def _tag_locally(session: AsyncSession, euid: str, wanted: list[Tag], by: str) -> list[str]:
    """No rep to mark_tag through (a kf-only customer): keep the tags locally."""
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


async def _escalate(
    app: web.Application, session: AsyncSession, plan: Plan, now: datetime
) -> None:
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
        await notify.notify_escalation(session, app[SETTINGS], row, now=now)
        plan.actions.append(f"escalation:{row.id}")


async def _notify_rep(session: AsyncSession, plan: Plan, now: datetime) -> None:
    """Tell the rep, once per customer, rule and window (the effect key says which window)."""
    window = int(now.timestamp() // NOTIFY_WINDOW)
    rules = sorted(h.rule.id for h in plan.result.hits if h.rule.notify)
    key = f"rule-notice:{plan.external_userid}:{','.join(rules)}:{window}"[:191]
    if await notify.notify(session, plan.rep, rep_notice(plan), key=key):
        plan.actions.append(f"notified:{plan.rep}")


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
