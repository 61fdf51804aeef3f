"""The welcome message for a newly added customer: pick a template, render it, record it.

The WelcomeCode is valid for 20 s and single use, so the welcome is recorded first and sent
straight after its commit, before anything else of the add event waits on WeCom. Everything
before it is local: the customer's name is known only when they were seen before; templates
must read well without it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import Channel, Customer, Staff, WelcomeTemplate
from bot.outbox import effects

logger = logging.getLogger(__name__)

# The WelcomeCode's lifetime (wecom-reference §4): a replay older than this cannot succeed.
CODE_TTL = 20
ATTACHMENTS_MAX = 9
SCOPE_ORDER = ("state", "user", "department", "default")
_PLACEHOLDER = re.compile(r"\{(customer|rep)(?:\|([^{}]*))?\}")

# What the add event decided, stored on the follow relation (FollowRelation.welcome); what
# delivery came to is the welcome effect's outcome (sent, taken by another app, expired).
QUEUED, NONE, SKIPPED, NO_TEMPLATE = "queued", "none", "skipped", "no_template"


def effect_key(welcome_code: str) -> str:
    """The welcome effect's idempotency key: one welcome per code, however often replayed."""
    return f"welcome:{welcome_code}"


def render(text: str, *, customer: str = "", rep: str = "") -> str:
    """Fill {customer} and {rep} ({customer|朋友} gives a default); other braces stay."""
    values = {"customer": customer, "rep": rep}

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)] or (match.group(2) or "")

    return _PLACEHOLDER.sub(fill, text)


def wecom_attachment(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """One of our attachment dicts as send_welcome_msg wants it; None when unusable."""
    kind = item.get("kind")
    if kind == "link" and item.get("url") and item.get("title"):
        link = {k: str(item[k]) for k in ("title", "url", "desc") if item.get(k)}
        if item.get("pic_url") or item.get("picurl"):
            link["picurl"] = str(item.get("pic_url") or item.get("picurl"))
        return {"msgtype": "link", "link": link}
    if kind == "image" and (item.get("media_id") or item.get("pic_url")):
        key = "media_id" if item.get("media_id") else "pic_url"
        return {"msgtype": "image", "image": {key: str(item[key])}}
    if kind == "miniprogram" and item.get("appid") and item.get("page"):
        fields = ("title", "appid", "page", "pic_media_id")
        mini = {k: str(item[k]) for k in fields if item.get(k)}
        if "pic_media_id" not in mini and item.get("media_id"):
            mini["pic_media_id"] = str(item["media_id"])
        return {"msgtype": "miniprogram", "miniprogram": mini}
    return None


def wecom_attachments(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The usable attachments, at most nine (WeCom's limit)."""
    out = []
    for item in items:
        converted = wecom_attachment(item)
        if converted is None:
            logger.warning("welcome: unusable attachment of kind %s skipped", item.get("kind"))
        else:
            out.append(converted)
    return out[:ATTACHMENTS_MAX]


async def pick_template(
    session: AsyncSession, *, state: str, userid: str
) -> WelcomeTemplate | None:
    """The most specific enabled template: channel/state > rep > rep's department > default."""
    if state:
        channel = await session.get(Channel, state)
        if channel is not None and channel.template_id:
            chosen = await session.get(WelcomeTemplate, channel.template_id)
            if chosen is not None and chosen.enabled:
                return chosen
    staff = await session.get(Staff, userid) if userid else None
    departments = [str(d) for d in (staff.departments if staff else [])]
    wanted = [
        and_(WelcomeTemplate.scope == "state", WelcomeTemplate.target == state) if state else None,
        and_(WelcomeTemplate.scope == "user", WelcomeTemplate.target == userid),
        and_(WelcomeTemplate.scope == "department", WelcomeTemplate.target.in_(departments)),
        WelcomeTemplate.scope == "default",
    ]
    rows = list(
        await session.scalars(
            select(WelcomeTemplate).where(
                WelcomeTemplate.enabled.is_(True), or_(*(w for w in wanted if w is not None))
            )
        )
    )

    def rank(t: WelcomeTemplate) -> tuple[int, int, str]:
        # Departments in the member's own order: the first listed is the main one.
        dep = departments.index(t.target) if t.scope == "department" else 0
        return (SCOPE_ORDER.index(t.scope), dep, t.id)

    return min(rows, key=rank, default=None)


def too_late(fields: Mapping[str, str], *, live: bool, now: float) -> bool:
    """A replayed event whose WelcomeCode has expired (live deliveries always try)."""
    if live:
        return False
    try:
        created = int(fields.get("CreateTime", "0"))
    except ValueError:
        return True
    return now - created > CODE_TTL


def expires_at(fields: Mapping[str, str], now: float) -> float:
    """When the event's WelcomeCode stops working (from its CreateTime, else from now)."""
    try:
        created = float(fields.get("CreateTime", ""))
    except ValueError:
        created = now
    return min(created, now) + CODE_TTL


async def record_welcome(
    session: AsyncSession, fields: Mapping[str, str], *, live: bool, now: float
) -> str:
    """Record the welcome effect for an add event in this transaction; the decision.

    The effect is keyed on the WelcomeCode, so a replayed event records nothing twice; the
    sender delivers it straight after commit. Everything here is local: send_welcome_msg
    must come within 20 s of the add, so nothing waits on WeCom before it.
    """
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    code, state = fields.get("WelcomeCode", ""), fields.get("State", "")
    if not code:
        logger.info("welcome: no WelcomeCode user=%s customer=%s (console welcome)", userid, euid)
        return NONE
    if too_late(fields, live=live, now=now):
        logger.warning("welcome: replay after the code expired user=%s customer=%s", userid, euid)
        return SKIPPED
    template = await pick_template(session, state=state, userid=userid)
    if template is None:
        logger.warning("welcome: no template for state=%s user=%s", state, userid)
        return NO_TEMPLATE
    customer = await session.get(Customer, euid)
    staff = await session.get(Staff, userid)
    text = render(
        template.text, customer=customer.name if customer else "", rep=staff.name if staff else ""
    )
    attachments = wecom_attachments(template.attachments or [])
    if not text.strip() and not attachments:
        return NO_TEMPLATE
    payload = {"welcome_code": code, "text": text, "attachments": attachments,
               "expires_at": expires_at(fields, now)}  # fmt: skip
    await effects.add(session, "welcome", payload, key=effect_key(code))
    logger.info("welcome queued template=%s user=%s customer=%s", template.id, userid, euid)
    return QUEUED
