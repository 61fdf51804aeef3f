"""A rep added a customer: the welcome first, then the customer, the relation and the channel."""

from __future__ import annotations

from bot.domain import contacts, welcome
from bot.inbound.router import EventContext, EventRouter

router = EventRouter()


@router.on("event", "change_external_contact", "add_external_contact")
async def customer_added(ctx: EventContext) -> None:
    """add_external_contact: welcome (20 s code), then fetch, store, tag and remark."""
    await _welcome_and_store(ctx)


@router.on("event", "change_external_contact", "add_half_external_contact")
async def customer_half_added(ctx: EventContext) -> None:
    """The customer added the rep without verification: the same flow applies."""
    await _welcome_and_store(ctx)


async def _welcome_and_store(ctx: EventContext) -> None:
    fields = ctx.event.fields
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    state = fields.get("State", "")
    # Nothing may call WeCom before this: the WelcomeCode expires 20 s after the add.
    outcome = await welcome.send_welcome(ctx.app, fields, live=ctx.live)
    await contacts.record_welcome(
        ctx.app, userid=userid, external_userid=euid, state=state, outcome=outcome
    )
    await contacts.sync_rep(ctx.app, userid)
    detail = await contacts.sync_contact(ctx.app, userid=userid, external_userid=euid)
    await contacts.apply_channel(
        ctx.app, userid=userid, external_userid=euid, state=state, detail=detail
    )
