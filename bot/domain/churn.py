"""Churn (a customer deleted their rep) and departure (a member left the corp).

Churn: the rep and their supervisors are told, the customer is tagged 流失 (locally, and in
WeCom through another rep still following them, if any), and moved to the last stage when
nobody follows them any more. Lost relations are what /stats counts as 流失.

Departure: the member's customers go to a chosen successor (离职继承) or to the pool, as the
departure policy says (SIDEKICK_DEPARTURE_POLICY); with no policy the supervisors are told to
decide (/transfer or /departpool). Applied once, when the member turns inactive, whether the
change_contact event or the address-book sync sees it first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import WeComError
from bot.core.keys import DB, WECOM
from bot.core.settings import Settings
from bot.domain import customers, notify, pool, stages, tags, transfer
from bot.domain import staff as staff_service
from bot.domain.models import CustomerTag, Staff, Tag

logger = logging.getLogger(__name__)

LOST_TAG = "流失"
TAG_GROUP = "客户状态"
DEPARTED = "员工离职"
# The stage a customer nobody follows any more moves to (when configured).
LOST = "流失客户"


async def prepare(app: web.Application) -> None:
    """Before the transaction: the 流失 tag exists in WeCom's library (never raises)."""
    try:
        await tags.ensure_tags(app[DB], app[WECOM], [LOST_TAG], group_name=TAG_GROUP)
    except WeComError as exc:
        logger.warning("churn tag not ensured errcode=%s", exc.errcode)


async def record_churn(
    session: AsyncSession, settings: Settings, fields: Mapping[str, str], *, now: datetime
) -> None:
    """After del_follow_user ended the relation: tag, stage, and tell the rep."""
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    still = await customers.rep_of(session, euid)
    tag = await session.scalar(
        select(Tag).where(Tag.name == LOST_TAG, Tag.deleted.is_(False)).order_by(Tag.id).limit(1)
    )
    if tag is not None:
        have = {t.id for t in await tags.customer_tags(session, euid)}
        if tag.id not in have:
            session.add(CustomerTag(external_userid=euid, tag_id=tag.id, added_by_kind="system",
                                    added_by="del_follow_user"))  # fmt: skip
            if still:  # WeCom keeps tags per relation: only a remaining one can carry it
                await tags.record_mark(session, still, euid, add=[tag.id])
    if still is None and LOST in settings.stage_names:
        await stages.change_stage(session, settings, euid, LOST, by_kind="system",
                                  by="del_follow_user", userid=userid, now=now)  # fmt: skip
    name = await customers.customer_label(session, euid)
    text = f"【客户流失】客户 {name} 删除了你，已标记为流失。可在侧边栏查看客户时间线了解原因。"
    await notify.notify(session, userid, text)
    await session.flush()


async def member_left(
    session: AsyncSession, settings: Settings, userid: str, *, now: datetime, by: str
) -> bool:
    """Mark a member inactive and hand their customers on per the policy; False when they
    were already inactive (the policy ran then)."""
    result = await session.execute(
        update(Staff).where(Staff.userid == userid, Staff.active.is_(True)).values(active=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    await hand_on(session, settings, userid, now=now, by=by)
    return True


async def hand_on(
    session: AsyncSession, settings: Settings, userid: str, *, now: datetime, by: str
) -> None:
    """Apply the departure policy to a departed member's customers, and tell supervisors."""
    leads = await notify.supervisors_of(session, userid, settings=settings)
    who = (await staff_service.labels(session, [userid])).get(userid, userid)
    count = len(await transfer.customers_of(session, userid))
    policy = settings.departure_policy.strip()
    heir_of = "successor:"
    successor = policy.removeprefix(heir_of).strip() if policy.startswith(heir_of) else ""
    if not count:
        text = f"【员工离职】{who} 已离职，名下没有客户。"
    elif policy == "pool":
        entered = await pool.enter_all_of(session, userid, by_kind="departure", by=by,
                                          reason=DEPARTED, now=now)  # fmt: skip
        text = f"【员工离职】{who} 已离职，名下 {entered} 位客户已移入公海（/pool 查看）。"
    elif successor and successor != userid:
        moved = await transfer.transfer_resigned(
            session, handover_userid=userid, takeover_userid=successor,
            requested_by=leads[0] if leads else "",
        )  # fmt: skip
        heir = (await staff_service.labels(session, [successor])).get(successor, successor)
        text = f"【员工离职】{who} 已离职，名下 {moved} 位客户已提交离职继承给 {heir}。"
    else:
        text = (f"【员工离职】{who} 已离职，名下有 {count} 位客户待分配。请发 /transfer "
                f"{userid} 接手员工（离职继承），或 /departpool {userid} 移入公海。")  # fmt: skip
    await notify.notify(session, leads, text)
    logger.info("member left userid=%s customers=%d policy=%s", userid, count, policy or "-")
