"""Keeping customers and follow relations true to WeCom's change_external_contact events.

WeCom is read before a transaction opens (`fetch_contact`, `prepare_channel`); the functions
that take a session only write, and record the WeCom changes they cause (mark_tag, remark,
notices) as outbox effects in that same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.core.keys import DB, SETTINGS, WECOM
from bot.core.settings import Settings
from bot.domain import audit, customers, notify, staff, tags, welcome
from bot.domain.models import Channel, Customer, CustomerTag, FollowRelation, Tag
from bot.outbox import effects

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
REMARK_MAX = 20  # WeCom's remark limit (wecom-reference §4)
# del_external_contact's Source when 在职继承 moved the customer to another rep.
BY_TRANSFER = "DELETE_BY_TRANSFER"


def _follow_entry(detail: JSON, userid: str) -> JSON:
    for entry in detail.get("follow_user") or []:
        if entry.get("userid") == userid:
            found: JSON = entry
            return found
    return {}


def _created(entry: JSON) -> datetime | None:
    stamp = entry.get("createtime")
    return datetime.fromtimestamp(int(stamp), UTC) if stamp else None


async def record_add(
    session: AsyncSession,
    fields: Mapping[str, str],
    *,
    live: bool,
    now: float,
) -> str:
    """An add event's first transaction: the relation, and the welcome effect; the decision."""
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    await customers.upsert_customer(session, external_userid=euid)
    follow = await customers.upsert_follow(
        session, userid=userid, external_userid=euid, state=fields.get("State", "")
    )
    outcome = await welcome.record_welcome(session, fields, live=live, now=now)
    # A late replay must not hide what the first run decided.
    if outcome != welcome.SKIPPED or not follow.welcome:
        follow.welcome = outcome
        follow.welcome_code = fields.get("WelcomeCode", "")
    return outcome


async def welcome_outcome(session: AsyncSession, follow: FollowRelation) -> str:
    """What became of the welcome: the effect's outcome (sent, taken, expired), pending or
    parked while it is not done, else the decision (none, skipped, no_template)."""
    if follow.welcome != welcome.QUEUED or not follow.welcome_code:
        return follow.welcome
    effect = await effects.by_key(session, welcome.effect_key(follow.welcome_code))
    if effect is None:
        return follow.welcome
    return effect.outcome if effect.status == "done" else effect.status


async def sync_rep(app: web.Application, userid: str) -> None:
    """The rep's name and departments from WeCom, when first seen or a day old (never raises)."""
    if userid:
        await staff.ensure_synced(app[DB], app[SETTINGS], app[WECOM], userid)


async def fetch_contact(app: web.Application, external_userid: str) -> JSON:
    """externalcontact/get (a read, before any transaction); WeComError when it fails."""
    detail: JSON = await app[WECOM].get_external_contact(external_userid)
    return detail


async def store_contact(
    session: AsyncSession, *, userid: str, external_userid: str, detail: JSON
) -> None:
    """Upsert the customer and this rep's relation from a fetched detail; mirror its tags."""
    contact = detail.get("external_contact") or {}
    entry = _follow_entry(detail, userid)
    await customers.upsert_customer(
        session, external_userid=external_userid, name=str(contact.get("name") or ""),
        avatar=str(contact.get("avatar") or ""),
        corp_name=str(contact.get("corp_name") or ""), type=int(contact.get("type") or 1),
        gender=int(contact.get("gender") or 0), unionid=str(contact.get("unionid") or ""),
    )  # fmt: skip
    if not entry:
        return
    follow = await customers.upsert_follow(
        session, userid=userid, external_userid=external_userid,
        state=str(entry.get("state") or ""), add_way=int(entry.get("add_way") or 0),
        added_at=_created(entry),
    )  # fmt: skip
    # WeCom is the truth for remark and description, including clearing them.
    follow.remark = str(entry.get("remark") or "")
    follow.description = str(entry.get("description") or "")
    await _mirror_tags(session, external_userid, entry)


async def _mirror_tags(session: AsyncSession, external_userid: str, entry: JSON) -> None:
    """Tags a rep set in the WeCom client appear locally (added_by_kind "wecom")."""
    have = {
        row
        for row in await session.scalars(
            select(CustomerTag.tag_id).where(CustomerTag.external_userid == external_userid)
        )
    }
    for item in entry.get("tags") or []:
        tag_id = str(item.get("tag_id") or "")
        if not tag_id or tag_id in have or int(item.get("type") or 1) != 1:
            continue  # type 2 = a member's personal tag, not in the corp library
        if await session.get(Tag, tag_id) is None:
            session.add(
                Tag(
                    id=tag_id,
                    name=str(item.get("tag_name") or ""),
                    group_name=str(item.get("group_name") or ""),
                )  # fmt: skip
            )
            await session.flush()
        session.add(
            CustomerTag(external_userid=external_userid, tag_id=tag_id, added_by_kind="wecom")
        )
        have.add(tag_id)
    await session.flush()


async def prepare_channel(app: web.Application, state: str) -> list[Tag]:
    """The channel's source tags, created in WeCom when missing (before the transaction)."""
    if not state:
        return []
    async with app[DB]() as session:
        channel = await session.get(Channel, state)
    if channel is None or not channel.tags:
        return []
    return await tags.ensure_tags(
        app[DB], app[WECOM], channel.tags, group_name=channel.tag_group
    )


async def apply_channel(
    session: AsyncSession,
    *,
    userid: str,
    external_userid: str,
    state: str,
    detail: JSON,
    source_tags: list[Tag],
) -> list[str]:
    """The channel's source tags (local rows, mark_tag effect) and remark; what was done."""
    channel = await session.get(Channel, state) if state else None
    if channel is None:
        return []
    done: list[str] = []
    if source_tags:
        added = await _mark_channel_tags(
            session, userid=userid, external_userid=external_userid, state=state,
            wanted=source_tags, detail=detail,
        )  # fmt: skip
        done.extend(f"tag:{name}" for name in added)
    if channel.remark and await _set_remark(session, userid, external_userid, channel.remark,
                                            detail):  # fmt: skip
        done.append("remark")
    return done


async def _mark_channel_tags(
    session: AsyncSession, *, userid: str, external_userid: str, state: str, wanted: list[Tag],
    detail: JSON,
) -> list[str]:  # fmt: skip
    """mark_tag on this rep's relation (WeCom tags per relation), local rows per customer.

    Judged by the relation in `detail`, not by the customer's local tags: a customer who adds a
    second rep through the same 活码 must get the source tag on that relation too.
    """
    on_relation = {str(t.get("tag_id")) for t in _follow_entry(detail, userid).get("tags") or []}
    missing = [t for t in wanted if t.id not in on_relation]
    if missing:
        await tags.record_mark(session, userid, external_userid, add=[t.id for t in missing])
    have = set(
        await session.scalars(
            select(CustomerTag.tag_id).where(CustomerTag.external_userid == external_userid)
        )
    )
    session.add_all(
        CustomerTag(
            external_userid=external_userid, tag_id=t.id, added_by_kind="channel", added_by=state
        )  # fmt: skip
        for t in wanted
        if t.id not in have
    )
    await session.flush()
    return [t.name for t in missing]


async def _set_remark(
    session: AsyncSession, userid: str, external_userid: str, pattern: str, detail: JSON
) -> bool:
    """Remark per the channel's pattern: local now, in WeCom through the outbox."""
    name = str((detail.get("external_contact") or {}).get("name") or "")
    remark = welcome.render(pattern, customer=name)[:REMARK_MAX].strip()
    current = str(_follow_entry(detail, userid).get("remark") or "")
    if not remark or remark == current:
        return False
    body = {"userid": userid, "external_userid": external_userid, "remark": remark}
    await effects.add(session, "remark", body, group=f"tags:{external_userid}")
    follow = await customers.follow_of(session, userid, external_userid)
    if follow is not None:
        follow.remark = remark
    return True


async def end_relation(
    session: AsyncSession, fields: Mapping[str, str], *, status: str
) -> FollowRelation | None:
    """Mark the relation ended (deleted / lost / transferred) as of the event's time."""
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    try:
        at = datetime.fromtimestamp(int(fields.get("CreateTime", "")), UTC)
    except ValueError:
        at = utcnow()
    follow = await customers.end_follow(
        session, userid=userid, external_userid=euid, status=status, at=at
    )
    await audit.record(
        session, actor="wecom", action=f"follow_{status}", target=euid,
        detail={"userid": userid, "source": fields.get("Source", "")},
    )  # fmt: skip
    logger.info("relation %s user=%s customer=%s known=%s", status, userid, euid, bool(follow))
    return follow


async def tell_supervisors_lost(
    session: AsyncSession, settings: Settings, fields: Mapping[str, str]
) -> None:
    """The customer deleted the rep: the rep's supervisors hear about it (an effect)."""
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    leads = await notify.supervisors_of(session, userid, settings=settings)
    if not leads:
        logger.warning("customer deleted rep=%s: no supervisor to tell", userid)
        return
    customer = await session.get(Customer, euid)
    follow = await session.scalar(
        select(FollowRelation).where(
            FollowRelation.userid == userid, FollowRelation.external_userid == euid
        )
    )
    remark = follow.remark if follow else ""
    name = customers.display_name(customer, remark) if customer else remark or euid
    rep = (await staff.labels(session, [userid])).get(userid, userid)
    text = f"【客户流失】客户 {name} 删除了员工 {rep}，关系已标记为流失。"
    await notify.notify(session, leads, text)
