"""A rep added a customer: the welcome first, then the customer, the relation and the channel."""

from __future__ import annotations

from bot.core.keys import CLOCK
from bot.domain import contacts
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
    """Two transactions: the welcome commits first (the sender sends it at once); then, after
    the WeCom reads, the details, tags and remark commit with the inbox row's done mark.

    A replay repeats the first one harmlessly: the welcome effect is keyed on the WelcomeCode.
    """
    app, fields = ctx.app, ctx.event.fields
    userid, euid = fields.get("UserID", ""), fields.get("ExternalUserID", "")
    state = fields.get("State", "")
    async with ctx.transaction(final=False) as session:
        await contacts.record_add(session, fields, live=ctx.live, now=app[CLOCK].timestamp())
    await contacts.sync_rep(app, userid)
    detail = await contacts.fetch_contact(app, euid)
    source_tags = await contacts.prepare_channel(app, state)
    async with ctx.transaction() as session:
        await contacts.store_contact(session, userid=userid, external_userid=euid, detail=detail)
        await contacts.apply_channel(
            session, userid=userid, external_userid=euid, state=state, detail=detail,
            source_tags=source_tags,
        )  # fmt: skip
