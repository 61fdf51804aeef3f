"""The other change_external_contact events: keep local customers and relations true."""

from __future__ import annotations

import logging

from bot.core.keys import CLOCK, SETTINGS
from bot.domain import audit, churn, contacts, customers, notify, pool, staff
from bot.inbound.router import EventContext, EventRouter

logger = logging.getLogger(__name__)

router = EventRouter()

_EVENT = "change_external_contact"
# transfer_fail's FailReason, in words a supervisor can act on.
FAIL_REASONS = {
    "customer_refused": "客户拒绝了转接",
    "customer_limit_exceed": "接替成员的客户数已达上限",
}


@router.on("event", _EVENT, "edit_external_contact")
async def customer_edited(ctx: EventContext) -> None:
    """The rep edited the customer (remark, description, tags): fetch and store."""
    fields = ctx.event.fields
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    detail = await contacts.fetch_contact(ctx.app, euid)
    async with ctx.transaction() as session:
        await contacts.store_contact(session, userid=userid, external_userid=euid, detail=detail)


@router.on("event", _EVENT, "del_external_contact")
async def customer_deleted(ctx: EventContext) -> None:
    """The rep deleted the customer (or 在职继承 moved them away)."""
    fields = ctx.event.fields
    moved = fields.get("Source", "") == contacts.BY_TRANSFER
    async with ctx.transaction() as session:
        await contacts.end_relation(session, fields, status="transferred" if moved else "deleted")


@router.on("event", _EVENT, "del_follow_user")
async def rep_deleted(ctx: EventContext) -> None:
    """The customer deleted the rep: the relation is lost and the supervisors hear of it."""
    fields = ctx.event.fields
    await churn.prepare(ctx.app)  # the 流失 tag exists in WeCom (a call, before the writes)
    async with ctx.transaction() as session:
        await contacts.end_relation(session, fields, status="lost")
        await contacts.tell_supervisors_lost(session, ctx.app[SETTINGS], fields)
        await churn.record_churn(session, ctx.app[SETTINGS], fields, now=ctx.app[CLOCK].now())


@router.on("event", _EVENT, "transfer_fail")
async def transfer_failed(ctx: EventContext) -> None:
    """A 继承 did not complete: the customer stays with its rep; supervisors are told why."""
    fields = ctx.event.fields
    takeover, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    reason = fields.get("FailReason", "")
    async with ctx.transaction() as session:
        await pool.move_failed(session, euid, takeover, FAIL_REASONS.get(reason, reason))
        await audit.record(
            session, actor="wecom", action="transfer_fail", target=euid,
            detail={"takeover": takeover, "reason": reason}, result="failed",
        )  # fmt: skip
        leads = await notify.supervisors_of(session, takeover, settings=ctx.app[SETTINGS])
        words = FAIL_REASONS.get(reason, reason or "原因未知")
        customer = await customers.customer_label(session, euid)
        who = (await staff.labels(session, [takeover])).get(takeover, takeover)
        text = f"【转接失败】客户 {customer} 未能转给 {who}：{words}。客户仍由原员工跟进。"
        await notify.notify(session, leads, text)
    logger.info("transfer failed customer=%s takeover=%s reason=%s", euid, takeover, reason)


@router.on("event", "change_contact", "delete_user")
async def member_deleted(ctx: EventContext) -> None:
    """A member was removed from the address book: their customers are handed on (policy)."""
    userid = ctx.event.fields.get("UserID", "")
    async with ctx.transaction() as session:
        left = await churn.member_left(session, ctx.app[SETTINGS], userid,
                                       now=ctx.app[CLOCK].now(), by="change_contact")  # fmt: skip
    logger.info("member deleted userid=%s handed_on=%s", userid, left)
